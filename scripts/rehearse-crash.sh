#!/usr/bin/env bash
# Sale day with a crash: runs a scenario (default sale-day.json) against a release-built service
# and worker of its own, kills the service with SIGKILL mid-spike (CRASH_AT seconds after the
# schedule starts, default 14: four seconds into sale-day's spike), starts it again CRASH_DOWN
# seconds later (default 2), and leaves the verdict to the load test's audit: its exit status is
# this script's. Arguments after the scenario go to `flashsale-loadtest run`.
#   scripts/rehearse-crash.sh [SCENARIO] [flashsale-loadtest run options...]
set -euo pipefail
cd "$(dirname "$0")/.."

SCENARIO="${1:-LoadTests/Scenarios/sale-day.json}"
shift || true
PG_PORT="${FLASHSALE_PG_PORT:-55432}"
REDIS_PORT="${FLASHSALE_REDIS_PORT:-56379}"
HTTP_PORT="${CRASH_HTTP_PORT:-18090}"
CRASH_AT="${CRASH_AT:-14}"
CRASH_DOWN="${CRASH_DOWN:-2}"
export DATABASE_URL="postgres://flashsale@127.0.0.1:$PG_PORT/flashsale"
export REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
export JWT_SECRET="${JWT_SECRET:-rehearsal-secret-0123456789-0123456789}" LOG_LEVEL=warning
WORK="$(mktemp -d)"
on_exit() {
    for pid in ${SERVICE_PID:-} ${WORKER_PID:-}; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap on_exit EXIT

scripts/services.sh start >/dev/null
BIN="${FLASHSALE_BIN:-$(scripts/release-binary.sh flashsale)}"
LOADTEST="${FLASHSALE_LOADTEST_BIN:-$(scripts/release-binary.sh flashsale-loadtest)}"
"$BIN" migrate >/dev/null
serve() {
    HTTP_PORT="$HTTP_PORT" TRUSTED_PROXIES=127.0.0.1 "$BIN" serve >>"$WORK/service.log" 2>&1 &
    SERVICE_PID=$!
    for _ in $(seq 100); do curl -sf "http://127.0.0.1:$HTTP_PORT/healthz" >/dev/null && return; sleep 0.1; done
    echo "rehearse-crash: the service did not start" >&2
    tail -n 20 "$WORK/service.log" >&2
    exit 1
}
serve
WORKER_METRICS_PORT=$((HTTP_PORT + 1)) EMAIL_OUTBOX_DIR="$WORK/outbox" "$BIN" worker >"$WORK/worker.log" 2>&1 &
WORKER_PID=$!

# The schedule starts at a known time, so the crash lands where it should.
START_AT="$(date -u -d '+20 seconds' +%Y-%m-%dT%H:%M:%SZ)"
"$LOADTEST" run "$SCENARIO" --target "http://127.0.0.1:$HTTP_PORT" --start-at "$START_AT" "$@" &
LOADTEST_PID=$!
sleep $(( $(date -d "$START_AT" +%s) - $(date +%s) + CRASH_AT ))
echo "rehearse-crash: SIGKILL to the service at $(date -u +%T), ${CRASH_AT} s into the schedule" >&2
kill -KILL "$SERVICE_PID"
wait "$SERVICE_PID" 2>/dev/null || true
sleep "$CRASH_DOWN"
serve
echo "rehearse-crash: the service is back at $(date -u +%T)" >&2
status=0
wait "$LOADTEST_PID" || status=$?
exit "$status"
