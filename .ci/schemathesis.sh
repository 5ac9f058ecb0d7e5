#!/usr/bin/env bash
# Property-based API test: schemathesis (PyPI, pinned below) generates
# requests from the OpenAPI document the real `ingest-api` serves, valid
# and invalid, stateful sequences included, and checks every answer
# against that document (`--checks all`): statuses, content types,
# headers, bodies, authentication, no 5xx, valid data accepted and invalid
# data refused. Any failure fails CI.
#
# The API runs alone (no --with-worker, so no sync ever contacts a site),
# on 127.0.0.1, on an embedded SQLite database in a temporary directory,
# with a test token and nothing from the caller's environment or `.env`.
# Called by .ci/run after the tests (the debug binary is built by then);
# runs on its own too: bash .ci/schemathesis.sh
set -euo pipefail
cd "$(dirname "$0")/.."

SCHEMATHESIS_VERSION=4.32.5
# Test cases per operation and phase; a run takes well under a minute.
MAX_EXAMPLES="${SCHEMATHESIS_MAX_EXAMPLES:-100}"
ROOT="$(pwd)"
TARGET_DIR="${CARGO_TARGET_DIR:-target}"
case "$TARGET_DIR" in /*) ;; *) TARGET_DIR="$ROOT/$TARGET_DIR" ;; esac
VENV="$TARGET_DIR/schemathesis-venv"
TOKEN="schemathesis-test-token-0123456789"

# A virtual environment (Debian's python is externally managed), with the
# venv module installed from Debian when missing.
if ! "$VENV/bin/schemathesis" --version 2>/dev/null | grep -qF "$SCHEMATHESIS_VERSION"; then
  if ! command -v python3 >/dev/null || ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq python3 python3-venv >/dev/null
  fi
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi
"$VENV/bin/schemathesis" --version

cargo build --locked -p ingest-api
API_BIN="$TARGET_DIR/debug/ingest-api"

WORK="$(mktemp -d)"
API_PID=""
cleanup() {
  if [ -n "$API_PID" ]; then
    kill "$API_PID" 2>/dev/null || true
    wait "$API_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

# Port 0: the first stdout line says where it listens.
(
  cd "$WORK"
  exec env -i PATH="$PATH" RUST_LOG=warn \
    DATABASE_URL="sqlite://$WORK/tracks.db" \
    MRE_ADMIN_API_TOKENS="$TOKEN" \
    MRE_TRACK_SYNC_REPORT_DIR="$WORK/reports" \
    "$API_BIN" --addr 127.0.0.1:0
) >"$WORK/api.out" 2>"$WORK/api.err" &
API_PID=$!
BASE=""
for _ in $(seq 1 100); do
  BASE="$(sed -n 's/^listening on //p' "$WORK/api.out" | head -n1)"
  [ -n "$BASE" ] && break
  if ! kill -0 "$API_PID" 2>/dev/null; then
    cat "$WORK/api.err" >&2
    echo "ingest-api exited before listening" >&2
    exit 1
  fi
  sleep 0.1
done
[ -n "$BASE" ] || { echo "ingest-api did not start listening" >&2; exit 1; }
echo "ingest-api at $BASE"

# From the temporary directory, where schemathesis keeps its crash cache.
status=0
(
  cd "$WORK"
  timeout 600 "$VENV/bin/schemathesis" --config-file "$ROOT/.ci/schemathesis.toml" \
    run "$BASE/api/openapi.json" \
    --checks all \
    --header "Authorization: Bearer $TOKEN" \
    --max-examples "$MAX_EXAMPLES" \
    --workers 2 \
    --report junit --report-dir "$TARGET_DIR/schemathesis"
) || status=$?
if [ "$status" -ne 0 ]; then
  echo "--- ingest-api's log ---" >&2
  tail -n 50 "$WORK/api.err" >&2
fi
exit "$status"
