#!/usr/bin/env bash
# docker/smoke-test.sh: the container image and the compose stack, end to
# end, for anyone with Docker (Engine 23+ with buildx, Compose v2).
#
#   docker/smoke-test.sh              # build, run, check, tear down
#   docker/smoke-test.sh --no-build   # use an image already built ($MRE_IMAGE)
#   docker/smoke-test.sh --keep       # leave the stack up to look at it
#
# 1. builds the image (docker/Dockerfile; extra `docker build` arguments, such
#    as base-image mirrors, from MRE_SMOKE_BUILD_ARGS);
# 2. brings up PostgreSQL, the LiveRC simulator (the image's
#    `ingest-cli simulator`, 400 tracks at 100 ms), the API and two workers
#    (docker-compose.yml + smoke-test.compose.yml), in a compose project of
#    its own with a throw-away password and token;
# 3. starts a sync through the API, waits until a quarter of the dashboards
#    are in, and `docker stop`s the worker holding the job;
# 4. checks that the stopped worker released the job and the other took it
#    over from its checkpoint and finished it: status succeeded, every
#    dashboard processed, every track stored once;
# 5. tears everything down (volumes too), also on failure or Ctrl-C.
#
# Nothing contacts liverc.com. Needs docker, curl and a free port
# (MRE_SMOKE_API_PORT, default 18080). COMPOSE overrides the compose command
# (default `docker compose`). Exit status 0: every check held.
set -euo pipefail
cd "$(dirname "$0")/.."

build=1
keep=0
for arg in "$@"; do
  case "$arg" in
    --no-build) build=0 ;;
    --keep) keep=1 ;;
    -h|--help) sed -n '2,26p' "$0"; exit 0 ;;
    *) echo "smoke-test: unknown argument $arg (see --help)" >&2; exit 2 ;;
  esac
done

image="${MRE_IMAGE:-liverc-ingestion:smoke}"
port="${MRE_SMOKE_API_PORT:-18080}"
tracks="${MRE_SMOKE_TRACKS:-400}"
project="liverc-smoke-$$"
read -r -a compose_cmd <<<"${COMPOSE:-docker compose}"
started_at=$SECONDS

say() { printf 'smoke-test [%4ss] %s\n' "$((SECONDS - started_at))" "$*"; }
fail() { say "FAILED: $*"; exit 1; }

for tool in docker curl; do
  command -v "$tool" >/dev/null || fail "$tool is not installed"
done

work="$(mktemp -d)"
token="smoke-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
cat >"$work/env" <<ENV
MRE_IMAGE=$image
MRE_API_PORT=$port
MRE_SMOKE_TRACKS=$tracks
POSTGRES_PASSWORD=smoke$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
MRE_ADMIN_API_TOKENS=$token
RUST_LOG=info
ENV

compose() {
  "${compose_cmd[@]}" -p "$project" \
    -f docker/docker-compose.yml -f docker/smoke-test.compose.yml \
    --env-file "$work/env" "$@"
}

teardown() {
  local status=$?
  if [ "$status" -ne 0 ]; then
    say "logs of the stack (last 40 lines a service):"
    compose logs --no-color --tail 40 2>&1 | sed 's/^/    /' || true
  fi
  if [ "$keep" -eq 1 ]; then
    say "left running: ${compose_cmd[*]} -p $project -f docker/docker-compose.yml -f docker/smoke-test.compose.yml --env-file $work/env down -v"
  else
    compose down -v --remove-orphans >/dev/null 2>&1 || true
    rm -rf "$work"
  fi
  exit "$status"
}
trap teardown EXIT
trap 'exit 130' INT TERM

api="http://127.0.0.1:$port"
auth=(-H "Authorization: Bearer $token")

# The value of a top-level JSON field (string or number) in $1; enough for
# the API's flat job view, without jq.
field() {
  printf '%s' "$1" | grep -o "\"$2\":[[:space:]]*\(\"[^\"]*\"\|[-0-9.a-z]*\)" | head -n1 \
    | sed -e 's/^[^:]*:[[:space:]]*//' -e 's/^"//' -e 's/"$//'
}

if [ "$build" -eq 1 ]; then
  say "building $image"
  # shellcheck disable=SC2086 # MRE_SMOKE_BUILD_ARGS is a list of arguments
  docker build -f docker/Dockerfile -t "$image" ${MRE_SMOKE_BUILD_ARGS:-} . \
    || fail "the image did not build"
fi
docker image inspect "$image" >/dev/null 2>&1 || fail "no image $image (build it or drop --no-build)"
say "image $image: $(docker image inspect -f '{{.Size}}' "$image" | awk '{printf "%.0f MB", $1/1e6}')"

say "starting postgres, the simulator ($tracks tracks), the API and two workers (project $project)"
compose up -d postgres liverc-sim ingest-api ingest-worker >/dev/null \
  || fail "compose up"

say "waiting for the API at $api/readyz"
for _ in $(seq 1 120); do
  if curl -fsS "$api/readyz" >/dev/null 2>&1; then break; fi
  sleep 1
done
curl -fsS "$api/readyz" >/dev/null || fail "the API never became ready"

mapfile -t workers < <(compose ps -q ingest-worker)
[ "${#workers[@]}" -eq 2 ] || fail "expected 2 workers, found ${#workers[@]}"

say "starting a sync through the API"
reply="$(curl -fsS "${auth[@]}" -H 'Content-Type: application/json' \
  -H 'X-MRE-Trigger: api' -d '{"metadata":"all"}' "$api/api/v1/tracks/sync")" \
  || fail "POST /api/v1/tracks/sync"
job="$(field "$reply" jobId)"
[ -n "$job" ] || fail "no jobId in $reply"
say "job $job"

job_view() { curl -fsS "${auth[@]}" "$api/api/v1/tracks/sync/$job"; }

# Wait until a quarter of the dashboards are in, then stop the holder.
holder=""
for _ in $(seq 1 600); do
  view="$(job_view)" || fail "GET the job"
  status="$(field "$view" status)"
  processed="$(field "$view" processed)"
  case "$status" in succeeded|failed|cancelled) fail "the job ended ($status) before a worker could be stopped: raise MRE_SMOKE_TRACKS" ;; esac
  if [ "$status" = running ] && [ "${processed:-0}" -ge $((tracks / 4)) ]; then
    break
  fi
  sleep 0.2
done
[ "$status" = running ] || fail "the job never ran (status $status)"
for c in "${workers[@]}"; do
  if docker logs "$c" 2>&1 | grep "job claimed" | grep -q "$job"; then holder="$c"; fi
done
[ -n "$holder" ] || fail "no worker logged claiming job $job"
other=""
for c in "${workers[@]}"; do [ "$c" != "$holder" ] && other="$c"; done
say "stopping the worker holding the job (${holder:0:12}) at $processed of $tracks dashboards"
stop_started=$SECONDS
docker stop -t 60 "$holder" >/dev/null || fail "docker stop"
say "stopped in $((SECONDS - stop_started)) s"

say "waiting for the other worker (${other:0:12}) to finish the job"
for _ in $(seq 1 600); do
  view="$(job_view)" || fail "GET the job"
  status="$(field "$view" status)"
  case "$status" in succeeded|failed|cancelled) break ;; esac
  sleep 0.5
done
attempts="$(field "$view" attempts)"
processed="$(field "$view" processed)"
total="$(field "$view" total)"
added="$(field "$view" tracksAdded)"
say "job $status: $processed/$total dashboards, $added tracks added, attempt $attempts"

[ "$status" = succeeded ] || fail "the job ended $status: $(field "$view" error)"
[ "$total" -eq "$tracks" ] && [ "$processed" -eq "$tracks" ] \
  || fail "processed $processed of total $total, expected $tracks"
# A graceful stop releases the job (stores the batch in hand, gives the
# lease back) without spending an attempt; the other worker claims it and
# continues from the checkpoint rather than from the start.
docker logs "$holder" 2>&1 | grep '"released"' | grep -q "$job" \
  || fail "the stopped worker did not log releasing job $job"
docker logs "$other" 2>&1 | grep "job claimed" | grep -q "$job" \
  || fail "the other worker did not log claiming job $job"
resumed="$(docker logs "$other" 2>&1 | grep "resuming from checkpoint" | grep "$job" \
  | grep -o '"done":[0-9]*' | head -n1 | cut -d: -f2)"
[ -n "$resumed" ] && [ "$resumed" -gt 0 ] \
  || fail "the other worker did not resume job $job from its checkpoint"
say "the other worker resumed from the checkpoint: $resumed tracks already stored were not fetched again"

stored="$(field "$(curl -fsS "${auth[@]}" "$api/api/v1/tracks?limit=1")" total)"
[ "$stored" -eq "$tracks" ] || fail "$stored tracks stored, expected $tracks"
say "$stored tracks stored, each once"
report="$(curl -fsS "${auth[@]}" -H 'Accept: text/markdown' "$api/api/v1/tracks/sync/$job/report")" \
  || fail "GET the report"
printf '%s\n' "$report" | grep -q '^# Track sync report' || fail "the report is not a report"
say "the report is served; every check held"
