#!/usr/bin/env bash
# mre-cron: the scheduler of the compose `cron` service, installed in the image
# as /usr/local/bin/mre-cron.
#
# Once a day at MRE_CRON_AT (HH:MM, UTC), after a random delay of up to
# MRE_CRON_MAX_DELAY_SECONDS (so several deployments never hit LiveRC at the
# same instant), it asks the API for a track sync and waits for its outcome:
#
#   ingest-cli remote sync --api-url "$MRE_CRON_API_URL" --trigger cron --wait
#
# with MRE_CRON_API_TOKEN handed over as MRE_API_TOKEN, the variable behind
# ingest-cli's --token: in the environment, not on a command line that any
# process can read. Exit statuses of remote sync: 0 ok, 2 failed, 3 guard
# refused, 4 skipped (a sync already running, or the kill switch off).
#
# A plain loop rather than Debian's cron: it runs as the image's non-root user,
# sees the container's environment (cron starts jobs with an empty one), logs
# to stdout for `docker compose logs`, and stops at once on SIGTERM. A failed
# sync is logged and the loop goes on; the API's job queue retries and alerts.
#
# Usage: mre-cron           run forever
#        mre-cron --now     one sync at once, no delay; exits with its status
#        mre-cron --next    print the next scheduled time (UTC) and exit; the
#                           random delay's range goes to stderr
set -euo pipefail

at="${MRE_CRON_AT:-03:00}"
max_delay="${MRE_CRON_MAX_DELAY_SECONDS:-1800}"
api_url="${MRE_CRON_API_URL:-http://ingest-api:8080}"

log() { printf '%s mre-cron: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*"; }
die() {
  log "error: $*" >&2
  exit 64
}

[[ $at =~ ^([01][0-9]|2[0-3]):[0-5][0-9]$ ]] ||
  die "MRE_CRON_AT must be HH:MM in UTC (00:00-23:59), got '$at'"
# Every number is read in base 10 (10#…) once, here: bash takes a leading
# zero for octal, so 0600 would be 384 and 08 or 09 an error.
at_seconds=$((10#${at%:*} * 3600 + 10#${at#*:} * 60))
[[ $max_delay =~ ^0*[0-9]{1,9}$ ]] ||
  die "MRE_CRON_MAX_DELAY_SECONDS must be a whole number of seconds, got '$max_delay'"
max_delay=$((10#$max_delay))

# Seconds since the epoch of the next MRE_CRON_AT, today's if still ahead.
# Epoch seconds have no leap seconds: a UTC day is exactly 86400 of them.
next_run() {
  local now run
  now=$(date -u +%s)
  run=$((now - now % 86400 + at_seconds))
  if ((run <= now)); then
    run=$((run + 86400))
  fi
  echo "$run"
}

# The child being waited for (sleep or ingest-cli): SIGTERM stops it too.
child=""
stop() {
  log "stopping"
  if [[ -n $child ]]; then kill -TERM "$child" 2>/dev/null || true; fi
  exit 0
}
trap stop TERM INT

# Run a command in the background and wait for it, so a signal is handled at
# once instead of after the command ends. Returns the command's status.
run() {
  "$@" &
  child=$!
  local status=0
  wait "$child" || status=$?
  child=""
  return "$status"
}

sync_once() {
  [[ -n ${MRE_CRON_API_TOKEN:-} ]] ||
    die "MRE_CRON_API_TOKEN is not set: give it one of the API's MRE_ADMIN_API_TOKENS"
  export MRE_API_TOKEN="${MRE_CRON_API_TOKEN}"
  log "requesting a track sync from $api_url"
  local status=0
  run ingest-cli remote sync --api-url "$api_url" --trigger cron --wait || status=$?
  log "track sync finished with exit status $status"
  return "$status"
}

case "${1:-}" in
  --now)
    sync_once
    exit
    ;;
  --next)
    date -u -d "@$(next_run)" +%Y-%m-%dT%H:%M:%SZ
    if ((max_delay > 0)); then
      log "plus a random delay of 0-${max_delay}s" >&2
    else
      log "plus no random delay" >&2
    fi
    exit 0
    ;;
  "") ;;
  *) die "usage: mre-cron [--now | --next]" ;;
esac

# Fail at start, not at 03:00, when the token is missing.
[[ -n ${MRE_CRON_API_TOKEN:-} ]] ||
  die "MRE_CRON_API_TOKEN is not set: give it one of the API's MRE_ADMIN_API_TOKENS"

while true; do
  next=$(next_run)
  delay=0
  if ((max_delay > 0)); then
    # RANDOM is 15 bits; two of them cover any delay up to 2^30 s.
    delay=$(((RANDOM * 32768 + RANDOM) % (max_delay + 1)))
  fi
  log "next track sync at $(date -u -d "@$next" +%Y-%m-%dT%H:%M:%SZ) plus a random ${delay}s"
  run sleep $((next - $(date -u +%s) + delay)) || true
  sync_once || true
done
