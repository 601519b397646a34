#!/usr/bin/env bash
# The purchase path's latency against its arrival rate, open loop (flashsale-loadtest --sweep):
# the shoppers of sale-day.json without its bots, at 5% … 120% of the most order answers per
# second the service gives, against a release-built service and worker. Then the generator's own
# ceiling (calibration on GET /healthz) beside wrk's rate on the same route and connections.
set -euo pipefail
cd "$(dirname "$0")/.."

PG_PORT="${FLASHSALE_PG_PORT:-55432}"
REDIS_PORT="${FLASHSALE_REDIS_PORT:-56379}"
HTTP_PORT="${BENCH_HTTP_PORT:-18080}"
SECRET=bench-secret-0123456789-0123456789
export DATABASE_URL="postgres://flashsale@127.0.0.1:$PG_PORT/flashsale"
export REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
export JWT_SECRET="$SECRET" LOG_LEVEL=warning
WORK="$(mktemp -d)"
on_exit() {
    for pid in ${SERVICE_PID:-} ${WORKER_PID:-}; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap on_exit EXIT

BIN="${FLASHSALE_BIN:-$(scripts/release-binary.sh flashsale)}"
LOADTEST="${FLASHSALE_LOADTEST_BIN:-$(scripts/release-binary.sh flashsale-loadtest)}"
"$BIN" migrate >/dev/null
HTTP_PORT="$HTTP_PORT" TRUSTED_PROXIES=127.0.0.1 "$BIN" serve >"$WORK/service.log" 2>&1 &
SERVICE_PID=$!
WORKER_METRICS_PORT=$((HTTP_PORT + 1)) EMAIL_OUTBOX_DIR="$WORK/outbox" "$BIN" worker >"$WORK/worker.log" 2>&1 &
WORKER_PID=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$HTTP_PORT/healthz" >/dev/null && break; sleep 0.1; done

TARGET="http://127.0.0.1:$HTTP_PORT"
"$LOADTEST" run LoadTests/Scenarios/sale-day.json --sweep --target "$TARGET" --seed 1 \
    --sweep-seconds "${BENCH_SWEEP_SECONDS:-5}" --out "$WORK/sweep" ${BENCH_SWEEP_ARGS:-}
cp "$WORK/sweep/report.html" "${BENCH_SWEEP_REPORT:-.local/bench-sweep.html}" 2>/dev/null && \
    echo "sweep drawn in ${BENCH_SWEEP_REPORT:-.local/bench-sweep.html}"

# The generator against wrk on the same route, connections and rate: wrk paces 4 connections
# (each waits 2 ms after an answer), then the load test sends open loop at the rate wrk reached.
# Latency "from the send" is what wrk measures; "from the schedule" adds the generator's own lag.
# Three alternating pairs: one p99 moves by 2x from run to run here.
cat >"$WORK/paced.lua" <<'LUA'
function delay() return 2 end
LUA
for pair in 1 2 3; do
    wrk -t1 -c4 -d6s --latency -s "$WORK/paced.lua" "$TARGET/healthz" >"$WORK/wrk-$pair.txt"
    rate="$(sed -nE 's/^Requests\/sec: *([0-9.]+).*/\1/p' "$WORK/wrk-$pair.txt")"
    printf 'wrk, 4 connections paced: %.0f req/s, p50 %s p99 %s\n' "$rate" \
        "$(sed -nE 's/^ +50% +([0-9.]+[a-z]+)$/\1/p' "$WORK/wrk-$pair.txt")" "$(sed -nE 's/^ +99% +([0-9.]+[a-z]+)$/\1/p' "$WORK/wrk-$pair.txt")"
    "$LOADTEST" calibrate --target "$TARGET" --connections 4 --seconds 6 --start-rate "$rate" --max-rate "$rate" 2>&1 | head -n 1
done
# And the ceilings: wrk closed loop at 50 connections, the load test open loop at doubling rates.
wrk -t2 -c50 -d5s "$TARGET/healthz" >"$WORK/wrk.txt"
printf 'wrk -t2 -c50 on GET /healthz, closed loop: %s requests/s\n' "$(sed -nE 's/^Requests\/sec: *([0-9.]+).*/\1/p' "$WORK/wrk.txt")"
"$LOADTEST" calibrate --target "$TARGET" --connections 50 --seconds 3 --start-rate 1000 2>&1 | tail -n 1
