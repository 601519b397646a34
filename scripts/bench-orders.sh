#!/usr/bin/env bash
# Committed orders per second on one hot SKU, PostgreSQL write path alone, in one run:
# the per-SKU group committer against one optimistic transaction per order (issue: >= 10x).
# Writes a throw-away sale per path into the dev database and removes it after its audit.
set -euo pipefail
cd "$(dirname "$0")/.."

PORT="${FLASHSALE_PG_PORT:-55432}"
BIN="$(scripts/release-binary.sh flashsale-order-bench)"
LOG_LEVEL=warning "$BIN" --database-url "postgres://flashsale@127.0.0.1:$PORT/flashsale" \
    --concurrency "${BENCH_ORDER_CONCURRENCY:-200}" --seconds "${BENCH_ORDER_SECONDS:-10}"
