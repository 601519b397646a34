#!/usr/bin/env bash
# Purchase attempts over HTTP, each figure against the trivial route (GET /healthz) of the same
# release-built service, measured in this one run with the same wrk threads and connections: the
# machine is shared and noisy, so only ratios within a run mean anything. The issue asks for
#   1. attempts answered 409 sold_out:             >= 0.8x the trivial route's requests/s, with the
#      sold-out short circuit: tokens issued after the SKU sold out, answered from memory
#   2. committed orders on one hot SKU (all 201s):  >= 0.15x, audited against PostgreSQL and Redis
#   3. requests refused 429 by the in-process limiter: >= 1x (they cost no more than the trivial route)
#   4. the service's resident memory after the load: <= 150 MB
# Latency against load is measured open loop by the load test's sweep (scripts/bench-sweep.sh);
# wrk here paces each connection after its previous answer, which hides stalls.
# Every committing attempt carries a fresh checkout token, pre-issued into Redis and bound to one of
# many shoppers, so each one is a first use that runs the whole purchase script. The sold-out
# attempts repeat one token issued after the sell-out (see sold_out_loop).
set -euo pipefail
cd "$(dirname "$0")/.."

PG_PORT="${FLASHSALE_PG_PORT:-55432}"
REDIS_PORT="${FLASHSALE_REDIS_PORT:-56379}"
HTTP_PORT="${BENCH_HTTP_PORT:-18080}"
THREADS=2
CONNECTIONS="${BENCH_CONNECTIONS:-50}"
SECONDS_PER_RUN="${BENCH_SECONDS:-10}"
# Enough shoppers that the per-shopper limit and any per-shopper key stay cold, as in a real spike.
SHOPPERS="${BENCH_SHOPPERS:-1000}"
SOLD_OUT_SALE=bench-soldout
HOT_SALE=bench-hot
HOT_STOCK=10000000
SECRET=bench-secret-0123456789-0123456789
DATABASE_URL="postgres://flashsale@127.0.0.1:$PG_PORT/flashsale"
REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
WORK="$(mktemp -d)"

psql_dev() { psql -q -X -h 127.0.0.1 -p "$PG_PORT" -U flashsale -d flashsale -v ON_ERROR_STOP=1 "$@"; }
redis_dev() { redis-cli -p "$REDIS_PORT" -n 0 "$@"; }

# Removes everything this bench writes, so a rerun (or an aborted run) starts from nothing.
clean_up_sales() {
    local sale
    for sale in "$SOLD_OUT_SALE" "$HOT_SALE"; do
        redis_dev --scan --pattern "fs:{$sale}:*" | xargs -r -n 1000 redis-cli -p "$REDIS_PORT" -n 0 DEL >/dev/null
    done
    psql_dev <<SQL
DELETE FROM jobs WHERE payload->>'order_id' IN
  (SELECT id::text FROM orders WHERE sale_id IN ('$SOLD_OUT_SALE', '$HOT_SALE'));
DELETE FROM orders WHERE sale_id IN ('$SOLD_OUT_SALE', '$HOT_SALE');
DELETE FROM sales WHERE id IN ('$SOLD_OUT_SALE', '$HOT_SALE');
SQL
}
on_exit() {
    if [ -n "${SERVICE_PID:-}" ]; then kill "$SERVICE_PID" 2>/dev/null || true; wait "$SERVICE_PID" 2>/dev/null || true; fi
    clean_up_sales >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap on_exit EXIT

BIN="${FLASHSALE_BIN:-$(scripts/release-binary.sh flashsale)}"

DATABASE_URL="$DATABASE_URL" LOG_LEVEL=warning "$BIN" migrate >/dev/null
clean_up_sales
# The limit of the hot SKU is far above what one shopper can buy in a run: no attempt answers 409 limit.
psql_dev <<SQL
INSERT INTO sales (id, name, starts_at, ends_at)
  VALUES ('$SOLD_OUT_SALE', 'bench', now() - interval '1 hour', now() + interval '1 day'),
         ('$HOT_SALE', 'bench', now() - interval '1 hour', now() + interval '1 day');
INSERT INTO inventory (sale_id, sku, name, price_cents, initial_stock, available, per_shopper_limit)
  VALUES ('$SOLD_OUT_SALE', 'gone', 'gone', 100, 0, 0, 5),
         ('$HOT_SALE', 'hot', 'hot', 100, $HOT_STOCK, $HOT_STOCK, 1000000000);
SQL
redis_dev SET "fs:{$SOLD_OUT_SALE}:stock:gone" 0 >/dev/null
redis_dev SET "fs:{$HOT_SALE}:stock:hot" "$HOT_STOCK" >/dev/null

# wrk is one client sending tens of thousands of requests a second: what is measured here is
# the routes themselves, so the rate limits that would hold such a client are lifted, but for one
# on sale pages that refuses it (with the default blocking), for the in-process limiter's run.
cat >"$WORK/limits.json" <<JSON
{"groups": {"browse": [{"name": "bench-browse-ip", "scope": "client_ip", "algorithm": "token_bucket", "quota": 1,
  "window_seconds": 60}], "checkout_tokens": [], "orders": [], "payments": [], "account": []}}
JSON
DATABASE_URL="$DATABASE_URL" REDIS_URL="$REDIS_URL" JWT_SECRET="$SECRET" RATE_LIMITS_FILE="$WORK/limits.json" \
    HTTP_PORT="$HTTP_PORT" LOG_LEVEL=warning "$BIN" serve >"$WORK/service.log" 2>&1 &
SERVICE_PID=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$HTTP_PORT/healthz" >/dev/null && break; sleep 0.1; done
curl -sf "http://127.0.0.1:$HTTP_PORT/healthz" >/dev/null || { echo "bench-http: the service did not start" >&2; exit 1; }

# Shopper i is `bench-i`; line i+1 of jwts.txt is its token.
# shellcheck disable=SC2046
JWT_SECRET="$SECRET" "$BIN" token --ttl 1h $(seq -f '--shopper=bench-%.0f' 0 $((SHOPPERS - 1))) >"$WORK/jwts.txt"

# issue_tokens SALE RUN COUNT_PER_THREAD PREFIX: checkout tokens for one wrk run, `PREFIX THREAD RUN
# COUNTER` in hex, bound to shopper `bench-(COUNTER mod SHOPPERS)`, as the run's request() will send
# them. A token's first 8 digits are the second it was issued (the sold-out short circuit reads it).
issue_tokens() {
    awk -v threads="$THREADS" -v per="$3" -v sale="$1" -v run="$2" -v prefix="$4" -v shoppers="$SHOPPERS" 'BEGIN {
        for (t = 1; t <= threads; t++) for (i = 1; i <= per; i++) {
            key = sprintf("fs:{%s}:tok:%s%02x%06x%016x", sale, prefix, t, run % 16777216, i)
            shopper = sprintf("bench-%d", i % shoppers)
            printf "*5\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n$2\r\nEX\r\n$4\r\n3600\r\n", length(key), key, length(shopper), shopper
        }
    }' | redis_dev --pipe >/dev/null
}

# purchase_script SALE SKU RUN PREFIX: a wrk script sending purchase attempts with the tokens of
# issue_tokens and the matching shopper's JWT. Prints the count of 201, 409 and other answers it saw.
purchase_script() {
    local file="$WORK/purchase-$3.lua"
    {
        printf 'local jwts = {\n'
        sed 's/.*/  "&",/' "$WORK/jwts.txt"
        printf '}\n'
        cat <<LUA
local run, prefix, path, body = $3 % 16777216, "$4", "/v1/sales/$1/orders", '{"sku":"$2","quantity":1}'
local id, counter = 0, 0
local threads = {}
function setup(thread) table.insert(threads, thread); thread:set("id", #threads) end
function init(args) id = tonumber(wrk.thread:get("id")) end
function request()
  counter = counter + 1
  local headers = { ["Authorization"] = "Bearer " .. jwts[counter % #jwts + 1],
                    ["Content-Type"] = "application/json",
                    ["Idempotency-Key"] = string.format("%s%02x%06x%016x", prefix, id, run, counter) }
  return wrk.format("POST", path, headers, body)
end
-- Globals, so that done() can read them from each thread (thread:get).
created, conflict, other, last_other = 0, 0, 0, 0
function response(status)
  if status == 201 then created = created + 1
  elseif status == 409 then conflict = conflict + 1
  else other = other + 1; last_other = status end
end
function done(summary, latency, requests)
  local c, k, o, l = 0, 0, 0, 0
  for _, t in ipairs(threads) do
    c = c + t:get("created"); k = k + t:get("conflict"); o = o + t:get("other")
    if t:get("last_other") ~= 0 then l = t:get("last_other") end
  end
  io.write(string.format("answers: 201=%d 409=%d other=%d (last other status %d)\n", c, k, o, l))
end
LUA
    } >"$file"
    printf '%s' "$file"
}

# shellcheck source=scripts/bench-cpu.sh
. scripts/bench-cpu.sh
# service_cpu: CPU microseconds the service's threads have run so far.
service_cpu() { threads_cpu "$SERVICE_PID"; }
# servers_cpu: "SERVICE POSTGRES REDIS" CPU microseconds so far (see stores_cpu).
servers_cpu() { echo "$(service_cpu) $(stores_cpu "$REDIS_PORT")"; }
# measured NAME COMMAND...: runs COMMAND, keeping what it cost the service, PostgreSQL and Redis in
# CPU microseconds (see servers_cpu), a line per call in $WORK/NAME.cpu.
measured() {
    local name=$1 before
    shift
    before="$(servers_cpu)"
    "$@"
    paste <(echo "$before" | tr ' ' '\n') <(servers_cpu | tr ' ' '\n') | awk '{ printf "%d ", $2 - $1 } END { print "" }' \
        >>"$WORK/$name.cpu"
}
# cpu_per_request NAME [COLUMN]: CPU microseconds per answer over NAME's runs (their answers are in
# $WORK/NAME.requests), of the service (column 1, the default), PostgreSQL (2) or Redis (3).
cpu_per_request() {
    awk -v n="$(cat "$WORK/$1.requests")" -v c="${2:-1}" '{ us += $c } END { printf "%.0f", us / n }' "$WORK/$1.cpu"
}

# Readers of wrk's report.
rate() { sed -nE 's/^Requests\/sec: *([0-9.]+).*/\1/p' "$1"; }
requests_in() { sed -nE 's/^ *([0-9]+) requests in.*/\1/p' "$1"; }
answers() { sed -nE "s/^answers: .*$2=([0-9]+).*/\1/p" "$1"; }
# tokens_per_thread RATE SECONDS: what one wrk thread may use at up to RATE, plus a margin.
tokens_per_thread() { awk -v r="$1" -v s="$2" -v t="$THREADS" 'BEGIN { printf "%d", r * s * 1.3 / t + 1000 }'; }

# Checkout tokens are unique across sales (orders.checkout_token): runs of this invocation are
# numbered from a random base, so no token can be one that an earlier order already used.
RUN=$((RANDOM << 15 | RANDOM))
# closed_loop SALE SKU NAME PREFIX: wrk as fast as it goes; report in $WORK/NAME.txt.
# No purchase is answered faster than the trivial route: its rate (so far) bounds the tokens needed.
closed_loop() {
    local trivial_max
    trivial_max="$(cat "$WORK"/trivial-*.txt | sed -nE 's/^Requests\/sec: *([0-9.]+).*/\1/p' | sort -g | tail -n 1)"
    RUN=$((RUN + 1))
    issue_tokens "$1" "$RUN" "$(tokens_per_thread "$trivial_max" "$SECONDS_PER_RUN")" "$4"
    # Measured without the issuing of the tokens, which is Redis work of its own.
    measured "$3" wrk -t"$THREADS" -c"$CONNECTIONS" -d"${SECONDS_PER_RUN}s" -s "$(purchase_script "$1" "$2" "$RUN" "$4")" \
        "http://127.0.0.1:$HTTP_PORT/" >"$WORK/$3.txt"
}
# post_order_answers: "201 409 other" answers to POST …/orders the service has counted so far.
post_order_answers() {
    curl -sf "http://127.0.0.1:$HTTP_PORT/metrics" | awk '/^hb_requests\{/ && /orders"/ && /POST/ {
        if ($0 ~ /status_code="201"/) c += $NF; else if ($0 ~ /status_code="409"/) k += $NF; else o += $NF
    } END { printf "%d %d %d\n", c, k, o }'
}
# sold_out_loop NAME: attempts at the sold-out SKU, every one with the same checkout token, issued
# after the sell-out: the short circuit answers it from memory without consuming it, so one static
# request does, which costs wrk no more than the trivial route's (no Lua per request). The
# answers are the service's own counts; report in $WORK/NAME.txt.
sold_out_loop() {
    local token before after
    token="$(printf '%08x%024x' "$(date +%s)" "$RUN")"
    redis_dev SET "fs:{$SOLD_OUT_SALE}:tok:$token" bench-0 EX 3600 >/dev/null
    cat >"$WORK/$1.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"sku":"gone","quantity":1}'
wrk.headers["Authorization"] = "Bearer $(head -n 1 "$WORK/jwts.txt")"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Idempotency-Key"] = "$token"
LUA
    before="$(post_order_answers)"
    measured "$1" wrk -t"$THREADS" -c"$CONNECTIONS" -d"${SECONDS_PER_RUN}s" -s "$WORK/$1.lua" \
        "http://127.0.0.1:$HTTP_PORT/v1/sales/$SOLD_OUT_SALE/orders" >"$WORK/$1.txt"
    after="$(post_order_answers)"
    paste <(echo "$before" | tr ' ' '\n') <(echo "$after" | tr ' ' '\n') |
        awk '{ d[NR] = $2 - $1 } END { printf "answers: 201=%d 409=%d other=%d\n", d[1], d[2], d[3] }' >>"$WORK/$1.txt"
}
# refused_loop NAME: sale pages from one client past its limit: after the first refusals it is
# blocked, and every answer is a 429 from memory; report in $WORK/NAME.txt, with the service's
# own counts of 429s and of other answers on sale pages during the run.
refused_loop() {
    local before after
    before="$(sale_page_answers)"
    measured "$1" wrk -t"$THREADS" -c"$CONNECTIONS" -d"${SECONDS_PER_RUN}s" \
        "http://127.0.0.1:$HTTP_PORT/v1/sales/$SOLD_OUT_SALE" >"$WORK/$1.txt"
    after="$(sale_page_answers)"
    paste <(echo "$before" | tr ' ' '\n') <(echo "$after" | tr ' ' '\n') |
        awk '{ d[NR] = $2 - $1 } END { printf "answers: 429=%d other=%d\n", d[1], d[2] }' >>"$WORK/$1.txt"
}
# sale_page_answers: "429 other" answers to GET /v1/sales/{id} the service has counted so far.
sale_page_answers() {
    curl -sf "http://127.0.0.1:$HTTP_PORT/metrics" | awk '/^hb_requests\{/ && /sale_id}"/ {
        if ($0 ~ /status_code="429"/) r += $NF; else o += $NF
    } END { printf "%d %d\n", r, o }'
}
# trivial NAME: the reference route, same threads and connections; report in $WORK/NAME.txt.
trivial() { wrk -t"$THREADS" -c"$CONNECTIONS" -d"${SECONDS_PER_RUN}s" "http://127.0.0.1:$HTTP_PORT/healthz" >"$WORK/$1.txt"; }
mean() { awk -v a="$1" -v b="$2" 'BEGIN { print (a + b) / 2 }'; }

# The load of the other work on the machine drifts within a minute: each closed-loop purchase run
# sits between two runs of the trivial route and is compared with their mean.
echo "warming up..."
wrk -t"$THREADS" -c"$CONNECTIONS" -d2s "http://127.0.0.1:$HTTP_PORT/healthz" >/dev/null
# The service learns that the sold-out SKU is sold out from one attempt's answer; the short circuit
# answers only tokens issued more than its 2 s clock margin after that.
redis_dev SET "fs:{$SOLD_OUT_SALE}:tok:00000001000000000000000000000001" bench-0 EX 3600 >/dev/null
curl -s -o /dev/null -X POST -H "Authorization: Bearer $(head -n 1 "$WORK/jwts.txt")" -H 'Content-Type: application/json' \
    -H 'Idempotency-Key: 00000001000000000000000000000001' -d '{"sku":"gone","quantity":1}' \
    "http://127.0.0.1:$HTTP_PORT/v1/sales/$SOLD_OUT_SALE/orders"
sleep 3

# The refused client is blocked from its first refusals on: no 200 reaches the runs.
wrk -t1 -c1 -d1s "http://127.0.0.1:$HTTP_PORT/v1/sales/$SOLD_OUT_SALE" >/dev/null

RUNS="trivial-1 soldout trivial-2 hot trivial-3 refused trivial-4"
echo "closed loop: trivial, sold-out attempts, trivial, committing purchases on one hot SKU, trivial, refused, trivial..."
measured trivial-1 trivial trivial-1
sold_out_loop soldout
measured trivial-2 trivial trivial-2
closed_loop "$HOT_SALE" hot hot "$(printf '%08x' "$RUN")"
measured trivial-3 trivial trivial-3
refused_loop refused
measured trivial-4 trivial trivial-4
TRIVIAL_1="$(rate "$WORK/trivial-1.txt")" TRIVIAL_2="$(rate "$WORK/trivial-2.txt")" TRIVIAL_3="$(rate "$WORK/trivial-3.txt")"
TRIVIAL_4="$(rate "$WORK/trivial-4.txt")"
SOLD_OUT="$(rate "$WORK/soldout.txt")" HOT="$(rate "$WORK/hot.txt")" REFUSED="$(rate "$WORK/refused.txt")"
for run in $RUNS; do requests_in "$WORK/$run.txt" >"$WORK/$run.requests"; done

MEMORY="$(grep -E '^Vm(HWM|RSS):' "/proc/$SERVICE_PID/status" | awk '{ printf "%s %.1f MB  ", $1, $2 / 1024 }')"

# What wrk saw, and what the service counted (wrk does not read the answers still in flight when
# a run ends: those orders commit, unseen by wrk).
served_201="$(curl -sf "http://127.0.0.1:$HTTP_PORT/metrics" |
    awk '/^hb_requests\{/ && /http_response_status_code="201"/ && /orders"/ { n += $NF } END { printf "%d", n }')"
client_201="$(answers "$WORK/hot.txt" 201)"
client_other=$(($(answers "$WORK/hot.txt" 409) + $(answers "$WORK/hot.txt" other)))
sold_out_other=$(($(answers "$WORK/soldout.txt" 201) + $(answers "$WORK/soldout.txt" other)))
refused_other="$(answers "$WORK/refused.txt" other)"

echo
for run in $RUNS; do
    printf -- '--- wrk: %s ---\n' "$run"
    grep -vE '^(Running|  [0-9]+ threads)' "$WORK/$run.txt" | sed -n '1,/^Transfer/p'
done
echo
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
printf '%-46s %9.0f, %.0f, %.0f, %.0f req/s (around each run below)\n' "GET /healthz (trivial route)" \
    "$TRIVIAL_1" "$TRIVIAL_2" "$TRIVIAL_3" "$TRIVIAL_4"
printf '%-46s %9.0f req/s  ratio %sx to %.0f (issue: >= 0.8x)  [%s]\n' "POST orders answered 409 sold_out" \
    "$SOLD_OUT" "$(ratio "$SOLD_OUT" "$(mean "$TRIVIAL_1" "$TRIVIAL_2")")" "$(mean "$TRIVIAL_1" "$TRIVIAL_2")" \
    "$(sed -n 's/^answers: //p' "$WORK/soldout.txt")"
printf '%-46s %9.0f req/s  ratio %sx to %.0f (issue: >= 0.15x) [%s]\n' "POST orders committed on one hot SKU (201)" \
    "$HOT" "$(ratio "$HOT" "$(mean "$TRIVIAL_2" "$TRIVIAL_3")")" "$(mean "$TRIVIAL_2" "$TRIVIAL_3")" \
    "$(sed -n 's/^answers: //p' "$WORK/hot.txt")"
printf '%-46s %9.0f req/s  ratio %sx to %.0f (issue: >= 1x)    [%s]\n' "GET sale page refused 429 from memory" \
    "$REFUSED" "$(ratio "$REFUSED" "$(mean "$TRIVIAL_3" "$TRIVIAL_4")")" "$(mean "$TRIVIAL_3" "$TRIVIAL_4")" \
    "$(sed -n 's/^answers: //p' "$WORK/refused.txt")"
printf 'service CPU per answer of the trivial route: %s, %s, %s, %s µs\n' "$(cpu_per_request trivial-1)" \
    "$(cpu_per_request trivial-2)" "$(cpu_per_request trivial-3)" "$(cpu_per_request trivial-4)"
echo "CPU per answer, µs (service / PostgreSQL / Redis):"
for run in soldout hot refused; do
    printf '  %-14s %5s / %4s / %4s\n' "$run" "$(cpu_per_request "$run")" "$(cpu_per_request "$run" 2)" \
        "$(cpu_per_request "$run" 3)"
done
printf 'service memory after the load: %s(issue: <= 150 MB)\n' "$MEMORY"
printf 'answers: the service served %s 201s (wrk read %s, %s other); sold-out runs: %s answers other than 409;' \
    "$served_201" "$client_201" "$client_other" "$sold_out_other"
printf ' refused run: %s answers other than 429\n' "$refused_other"

# The stores, audited by the load test's audit: no oversell, the stores agree, the ledger is
# empty, and the hot sale holds exactly the orders the service answered 201.
LOADTEST="${FLASHSALE_LOADTEST_BIN:-$(scripts/release-binary.sh flashsale-loadtest)}"
audit() { DATABASE_URL="$DATABASE_URL" REDIS_URL="$REDIS_URL" LOG_LEVEL=warning "$LOADTEST" audit --settle 10 "$@"; }
if ! audit --sale "$HOT_SALE" --expect-orders "$served_201" || ! audit --sale "$SOLD_OUT_SALE" --expect-orders 0 ||
    [ "$sold_out_other" != 0 ] || [ "$client_other" != 0 ] || [ "$client_201" -gt "$served_201" ] ||
    [ "$refused_other" != 0 ] ||
    [ "$(answers "$WORK/refused.txt" 429)" -lt "$(requests_in "$WORK/refused.txt")" ]; then
    echo "bench-http: AUDIT FAILED; the service logged:" >&2
    tail -n 20 "$WORK/service.log" >&2
    exit 1
fi
echo "audit: ok"
