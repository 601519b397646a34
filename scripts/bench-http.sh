#!/usr/bin/env bash
# Purchase attempts answered sold_out over HTTP (JWT check, JSON, one Redis round trip) against a
# trivial route of the same service, both driven by wrk with the same threads and connections, in
# one run (the issue asks for >= 0.4x). Every attempt carries a fresh checkout token, pre-issued
# into Redis, so each one is a first use that runs the whole purchase script.
set -euo pipefail
cd "$(dirname "$0")/.."

PG_PORT="${FLASHSALE_PG_PORT:-55432}"
REDIS_PORT="${FLASHSALE_REDIS_PORT:-56379}"
HTTP_PORT="${BENCH_HTTP_PORT:-18080}"
THREADS=2
CONNECTIONS="${BENCH_CONNECTIONS:-50}"
DURATION="${BENCH_DURATION:-10s}"
TOKENS_PER_THREAD="${BENCH_TOKENS_PER_THREAD:-400000}"
SALE=bench-soldout
SECRET=bench-secret-0123456789-0123456789
WORK="$(mktemp -d)"
trap 'kill "${SERVICE_PID:-}" 2>/dev/null || true; rm -rf "$WORK"' EXIT

echo "building flashsale (release)..."
swift build -c release --product flashsale >/dev/null 2>&1 || swift build -c release --product flashsale
BIN="$(swift build -c release --show-bin-path 2>/dev/null)/flashsale"

DATABASE_URL="postgres://flashsale@127.0.0.1:$PG_PORT/flashsale" LOG_LEVEL=warning "$BIN" migrate >/dev/null
psql -q -h 127.0.0.1 -p "$PG_PORT" -U flashsale -d flashsale -v ON_ERROR_STOP=1 <<SQL
INSERT INTO sales (id, name, starts_at, ends_at) VALUES ('$SALE', 'bench', now() - interval '1 hour', now() + interval '1 day')
  ON CONFLICT (id) DO UPDATE SET starts_at = excluded.starts_at, ends_at = excluded.ends_at;
INSERT INTO inventory (sale_id, sku, name, price_cents, initial_stock, available, per_shopper_limit)
  VALUES ('$SALE', 'gone', 'gone', 100, 0, 0, 5) ON CONFLICT DO NOTHING;
SQL
echo "issuing $((THREADS * TOKENS_PER_THREAD)) checkout tokens into Redis..."
redis-cli -p "$REDIS_PORT" -n 0 SET "fs:{$SALE}:stock:gone" 0 >/dev/null
awk -v threads="$THREADS" -v per="$TOKENS_PER_THREAD" -v sale="$SALE" 'BEGIN {
    for (t = 1; t <= threads; t++) for (i = 1; i <= per; i++) {
        key = sprintf("fs:{%s}:tok:%016x%016x", sale, t, i)
        printf "*5\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$5\r\nbench\r\n$2\r\nEX\r\n$4\r\n3600\r\n", length(key), key
    }
}' | redis-cli -p "$REDIS_PORT" -n 0 --pipe >/dev/null

DATABASE_URL="postgres://flashsale@127.0.0.1:$PG_PORT/flashsale" REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0" \
    JWT_SECRET="$SECRET" HTTP_PORT="$HTTP_PORT" LOG_LEVEL=warning "$BIN" serve &
SERVICE_PID=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$HTTP_PORT/healthz" >/dev/null && break; sleep 0.1; done
BEARER="$(JWT_SECRET="$SECRET" "$BIN" token --shopper bench --ttl 1h)"

cat >"$WORK/soldout.lua" <<LUA
local counter = 0
local id = 0
local threads = 0
function setup(thread) threads = threads + 1; thread:set("id", threads) end
function init(args) id = tonumber(wrk.thread:get("id")) end
function request()
  counter = counter + 1
  local headers = { ["Authorization"] = "Bearer $BEARER", ["Content-Type"] = "application/json",
                    ["Idempotency-Key"] = string.format("%016x%016x", id, counter) }
  return wrk.format("POST", "/v1/sales/$SALE/orders", headers, '{"sku":"gone","quantity":1}')
end
local statuses = {}
function response(status) statuses[status] = (statuses[status] or 0) + 1 end
LUA

rate() { sed -nE 's/^Requests\/sec: *([0-9.]+).*/\1/p'; }
echo "warming up..."
wrk -t"$THREADS" -c"$CONNECTIONS" -d2s "http://127.0.0.1:$HTTP_PORT/healthz" >/dev/null
trivial="$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" "http://127.0.0.1:$HTTP_PORT/healthz" | tee "$WORK/trivial.txt" | rate)"
soldout="$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" -s "$WORK/soldout.lua" "http://127.0.0.1:$HTTP_PORT/" | tee "$WORK/soldout.txt" | rate)"
non2xx="$(sed -nE 's/^ *Non-2xx or 3xx responses: *([0-9]+).*/\1/p' "$WORK/soldout.txt")"
total="$(sed -nE 's/^ *([0-9]+) requests in.*/\1/p' "$WORK/soldout.txt")"
sold_out_answers="$(redis-cli -p "$REDIS_PORT" -n 0 --scan --pattern "fs:{$SALE}:idem:*" | wc -l)"
printf '%-44s %10.0f req/s\n' "GET /healthz (trivial route)" "$trivial"
printf '%-44s %10.0f req/s  (%s of %s answered non-2xx; %s tokens used)\n' \
    "POST orders answered 409 sold_out" "$soldout" "${non2xx:-0}" "$total" "$sold_out_answers"
awk -v s="$soldout" -v t="$trivial" 'BEGIN { printf "ratio sold_out / trivial: %.2fx\n", s / t }'
redis-cli -p "$REDIS_PORT" -n 0 --scan --pattern "fs:{$SALE}:*" | xargs -r -n 1000 redis-cli -p "$REDIS_PORT" -n 0 DEL >/dev/null
