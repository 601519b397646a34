#!/usr/bin/env bash
# Compares our Redis client with redis-benchmark on the purchase-shaped Lua script, in one run,
# at the same connections and pipelining, and prints the ratio (the issue asks for >= 0.8x).
# Uses database 15 of the dev Redis and flushes it; the demo data lives in other databases.
set -euo pipefail
cd "$(dirname "$0")/.."

PORT="${FLASHSALE_REDIS_PORT:-56379}"
DB=15
REQUESTS="${BENCH_REQUESTS:-300000}"
CONNECTIONS="${BENCH_CONNECTIONS:-50}"
ROUNDS="${BENCH_ROUNDS:-2}"

BIN="$(scripts/release-binary.sh flashsale-redis-bench)"
SHA="$(redis-cli -p "$PORT" -n "$DB" SCRIPT LOAD "$("$BIN" --print-script)")"
read -r -a SCRIPT_ARGS <<<"$("$BIN" --print-benchmark-arguments)"

reset_db() {
    redis-cli -p "$PORT" -n "$DB" FLUSHDB >/dev/null
    redis-cli -p "$PORT" -n "$DB" SET "fs:{bench}:stock:sku-1" 1000000000000000 >/dev/null
}

theirs() {
    reset_db
    redis-benchmark -p "$PORT" --dbnum "$DB" -c "$CONNECTIONS" -P "$1" -n "$REQUESTS" -r 100000 --csv \
        EVALSHA "$SHA" "${SCRIPT_ARGS[@]}" | tail -1 | cut -d, -f2 | tr -d '"'
}

ours() {
    reset_db
    "$BIN" --redis-url "redis://127.0.0.1:$PORT/$DB" --connections "$CONNECTIONS" --pipeline "$1" \
        --requests "$REQUESTS" | sed -E 's/.*: ([0-9]+) requests per second.*/\1/'
}

printf '%-34s %14s %14s %8s\n' "purchase-shaped EVALSHA" "redis-benchmark" "flashsale" "ratio"
for PIPELINE in 1 16; do
    best_theirs=0
    best_ours=0
    # Alternate the two and keep each one's best round: the machine is shared and noisy.
    for _ in $(seq "$ROUNDS"); do
        t="$(theirs "$PIPELINE")"
        o="$(ours "$PIPELINE")"
        best_theirs="$(awk -v a="$best_theirs" -v b="$t" 'BEGIN { print (b > a ? b : a) }')"
        best_ours="$(awk -v a="$best_ours" -v b="$o" 'BEGIN { print (b > a ? b : a) }')"
    done
    ratio="$(awk -v o="$best_ours" -v t="$best_theirs" 'BEGIN { printf "%.2f", o / t }')"
    printf '%-34s %14.0f %14.0f %7sx\n' "$CONNECTIONS connections, $PIPELINE in flight each" \
        "$best_theirs" "$best_ours" "$ratio"
done
redis-cli -p "$PORT" -n "$DB" FLUSHDB >/dev/null
