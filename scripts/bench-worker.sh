#!/usr/bin/env bash
# `flashsale worker` against the bare floor of its queue, in one run (the issue asks >= 20,000
# no-op jobs/s with one worker process, and the expiry rate of 100,000 abandoned orders):
#   1. floor: pgbench leasing 100 due jobs with FOR UPDATE SKIP LOCKED and deleting them in one
#      statement, on the real `jobs` table of the migrated schema (4 clients, 2 threads, 90% of 1,000,000 jobs);
#   2. no-op jobs completed per second by one, then two worker processes on one queue;
#   3. e-mails delivered per second by one, then two workers (20,000 paid orders with an address,
#      one `email` job each) to a local provider: a small Python standard-library HTTP server on
#      127.0.0.1 that answers 200 to every POST and counts them; the rate limit is set out of the way;
#   4. orders expired per second by one, then two workers (100,000 reserved orders past pay_by,
#      their order_expiry jobs due), audited: every order expired, available == initial stock,
#      Redis stock == available, `flashsale reconcile` exits 0.
# Each worker starts on an empty queue and is ready (its metrics port answers) before the jobs are
# committed in one transaction; a rate is timed from that commit until the queue is drained, polled
# every 0.2 s (process start-up is not counted; up to one idle poll of the worker, at most 1 s, is).
# Uses a database it creates and drops, and Redis database 13, flushed before and after.
set -euo pipefail
cd "$(dirname "$0")/.."

PG_PORT="${FLASHSALE_PG_PORT:-55432}"
REDIS_PORT="${FLASHSALE_REDIS_PORT:-56379}"
FLOOR_JOBS="${BENCH_WORKER_FLOOR_JOBS:-1000000}"
FLOOR_CLIENTS="${BENCH_WORKER_FLOOR_CLIENTS:-4}"
NOOP_JOBS="${BENCH_WORKER_NOOP_JOBS:-300000}"
ORDERS="${BENCH_WORKER_ORDERS:-100000}"
EMAILS="${BENCH_WORKER_EMAILS:-20000}"
SKUS="${BENCH_WORKER_SKUS:-4}"
# Worker process counts to measure, for the no-op jobs, the e-mails and the expiry.
PROCESSES="${BENCH_WORKER_PROCESSES:-1 2}"
POLL=0.2
# A run that has not drained its queue by then is reported as failed.
TIMEOUT_SECONDS="${BENCH_WORKER_TIMEOUT:-300}"
DB=flashsale_bench_worker
REDIS_DB=13
SALE=bench-expiry
EMAIL_SALE=bench-email
WORK="$(mktemp -d)"
export DATABASE_URL="postgres://flashsale@127.0.0.1:$PG_PORT/$DB" REDIS_URL="redis://127.0.0.1:$REDIS_PORT/$REDIS_DB"
export LOG_LEVEL=warning EMAIL_OUTBOX_DIR="$WORK/outbox"

psql_admin() { psql -q -X -h 127.0.0.1 -p "$PG_PORT" -U flashsale -d flashsale -v ON_ERROR_STOP=1 "$@"; }
psql_bench() { psql -q -X -h 127.0.0.1 -p "$PG_PORT" -U flashsale -d "$DB" -v ON_ERROR_STOP=1 "$@"; }
redis_bench() { redis-cli -p "$REDIS_PORT" -n "$REDIS_DB" "$@"; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.3f", b - a }'; }

WORKER_PIDS=()
PROVIDER_PID=
# Stops the workers (SIGTERM, then waits) and shows what they logged at warning and above.
stop_workers() {
    local pid log rc=0
    for pid in "${WORKER_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${WORKER_PIDS[@]}"; do wait "$pid" || rc=$?; done
    WORKER_PIDS=()
    for log in "$WORK"/worker-*.log; do
        if [ -s "$log" ]; then
            echo "  $(basename "$log") ($(wc -l <"$log") lines at warning and above), first lines:"
            head -n 5 "$log" | cut -c1-300 | sed 's/^/    /'
        fi
        rm -f "$log"
    done
    return "$rc"
}
on_exit() {
    local pid
    for pid in "${WORKER_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
    if [ -n "$PROVIDER_PID" ]; then kill -TERM "$PROVIDER_PID" 2>/dev/null || true; wait "$PROVIDER_PID" 2>/dev/null || true; fi
    psql_admin -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
    redis_bench FLUSHDB >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap on_exit EXIT

# shellcheck source=scripts/bench-cpu.sh
. scripts/bench-cpu.sh
# servers_cpu: "WORKERS POSTGRES REDIS" CPU microseconds so far (see stores_cpu).
servers_cpu() { echo "$(threads_cpu "${WORKER_PIDS[@]}") $(stores_cpu "$REDIS_PORT")"; }
# cpu_split BEFORE JOBS SECONDS: CPU per job (µs) and cores busy, of the workers, PostgreSQL, Redis.
cpu_split() {
    awk -v before="$1" -v after="$(servers_cpu)" -v n="$2" -v s="$3" 'BEGIN {
        split(before, b, " "); split(after, a, " ")
        printf "  CPU per job: worker(s) %.1f us, PostgreSQL %.1f us, Redis %.1f us; cores busy: %.2f, %.2f, %.2f\n",
            (a[1] - b[1]) / n, (a[2] - b[2]) / n, (a[3] - b[3]) / n,
            (a[1] - b[1]) / s / 1e6, (a[2] - b[2]) / s / 1e6, (a[3] - b[3]) / s / 1e6 }'
}

# Starts COUNT workers on the bench database and waits until each one's metrics port answers.
start_workers() {
    local count="$1" i pid port tries
    for i in $(seq "$count"); do
        "$BIN" worker --metrics-port 0 >"$WORK/worker-$i.log" 2>&1 &
        WORKER_PIDS+=("$!")
    done
    for i in "${!WORKER_PIDS[@]}"; do
        pid="${WORKER_PIDS[$i]}"
        for tries in $(seq 100); do
            kill -0 "$pid" 2>/dev/null || { echo "worker $((i + 1)) exited:"; cat "$WORK/worker-$((i + 1)).log"; exit 1; }
            port="$(ss -Hltnp 2>/dev/null | awk -v p="pid=$pid," 'index($0, p) { n = split($4, a, ":"); print a[n]; exit }')"
            if [ -n "$port" ] && curl -fsS -o /dev/null "http://127.0.0.1:$port/healthz"; then break; fi
            sleep 0.05
        done
    done
}

# Polls the SQL condition every $POLL s until it is true; prints the seconds since STARTED.
wait_until() {
    local started="$1" condition="$2"
    while [ "$(psql_bench -At -c "SELECT $condition")" != t ]; do
        if awk -v s="$(elapsed "$started")" -v t="$TIMEOUT_SECONDS" 'BEGIN { exit !(s > t) }'; then
            echo "not drained after ${TIMEOUT_SECONDS}s" >&2
            exit 1
        fi
        sleep "$POLL"
    done
    elapsed "$started"
}

BIN="$(scripts/release-binary.sh flashsale)"
psql_admin -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
"$BIN" migrate >/dev/null
redis_bench FLUSHDB >/dev/null
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"

# --- 1. The floor -----------------------------------------------------------------------------
cat >"$WORK/lease-delete.sql" <<'SQL'
WITH due AS (
    SELECT id FROM jobs WHERE status = 'pending' AND kind = 'noop' AND run_at <= now()
    ORDER BY run_at LIMIT 100 FOR UPDATE SKIP LOCKED
)
DELETE FROM jobs USING due WHERE jobs.id = due.id;
SQL
echo "floor: filling $FLOOR_JOBS noop jobs..."
psql_bench -c "INSERT INTO jobs (kind, payload) SELECT 'noop', '{}' FROM generate_series(1, $FLOOR_JOBS)" \
    -c "VACUUM ANALYZE jobs"
# A fixed number of statements, 90% of the jobs, so every statement finds its 100 (a timed run
# would empty the queue on a fast minute and count statements that deleted nothing).
pgbench -n -h 127.0.0.1 -p "$PG_PORT" -U flashsale -c "$FLOOR_CLIENTS" -j 2 -t $((FLOOR_JOBS * 9 / 10 / 100 / FLOOR_CLIENTS)) \
    -f "$WORK/lease-delete.sql" "$DB" >"$WORK/pgbench.txt" 2>&1 || { cat "$WORK/pgbench.txt"; exit 1; }
left="$(psql_bench -At -c "SELECT count(*) FROM jobs")"
[ "$left" -gt 0 ] || { echo "floor: the queue ran empty; raise BENCH_WORKER_FLOOR_JOBS"; exit 1; }
transactions="$(sed -nE 's/^number of transactions actually processed: ([0-9]+).*/\1/p' "$WORK/pgbench.txt")"
tps="$(sed -nE 's/^tps = ([0-9.]+) .*/\1/p' "$WORK/pgbench.txt" | tail -n 1)"
FLOOR="$(awk -v d="$((FLOOR_JOBS - left))" -v n="$transactions" -v t="$tps" 'BEGIN { printf "%.0f", d / (n / t) }')"
printf 'floor: pgbench lease + delete of 100 jobs per statement, %d clients: %d jobs deleted in %.2f s = %d jobs/s\n' \
    "$FLOOR_CLIENTS" "$((FLOOR_JOBS - left))" "$(awk -v n="$transactions" -v t="$tps" 'BEGIN { print n / t }')" "$FLOOR"
psql_bench -c "TRUNCATE jobs" -c "VACUUM ANALYZE jobs"

# --- 2. No-op jobs ----------------------------------------------------------------------------
declare -A NOOP_RATE
for processes in $PROCESSES; do
    start_workers "$processes"
    psql_bench -c "INSERT INTO jobs (kind, payload) SELECT 'noop', '{}' FROM generate_series(1, $NOOP_JOBS)"
    started=$(now)
    cpu_before="$(servers_cpu)"
    seconds="$(wait_until "$started" "NOT EXISTS (SELECT 1 FROM jobs WHERE kind = 'noop')")"
    split="$(cpu_split "$cpu_before" "$NOOP_JOBS" "$seconds")"
    stop_workers || { echo "a worker exited with an error:"; cat "$WORK"/worker-*.log; exit 1; }
    [ "$(psql_bench -At -c "SELECT count(*) FROM jobs")" -eq 0 ] || { echo "jobs left after the no-op run"; exit 1; }
    NOOP_RATE[$processes]="$(awk -v n="$NOOP_JOBS" -v s="$seconds" 'BEGIN { printf "%.0f", n / s }')"
    printf 'no-op jobs, %d worker process(es): %d jobs in %.2f s = %d jobs/s = %.2fx the floor\n' \
        "$processes" "$NOOP_JOBS" "$seconds" "${NOOP_RATE[$processes]}" \
        "$(awk -v r="${NOOP_RATE[$processes]}" -v f="$FLOOR" 'BEGIN { print r / f }')"
    echo "$split"
    psql_bench -c "VACUUM ANALYZE jobs"
done

# --- 3. E-mails to a local provider -------------------------------------------------------------
# The provider: Python's standard library only, a thread per connection (the workers keep theirs
# open), HTTP/1.1 keep-alive, each answer written in one piece with Nagle off. It checks nothing:
# it reads the body, counts the POST and its Idempotency-Key, answers 200 {"status":"queued"}.
# GET /count answers one line, "POSTS DISTINCT_KEYS" so far. It binds a free port and writes it to a file.
cat >"$WORK/provider.py" <<'PY'
import http.server, os, sys, threading

lock = threading.Lock()
posts = 0
keys = set()
QUEUED = b'{"status":"queued"}'


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def answer(self, status, reason, body, content_type):
        self.wfile.write(b"HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n%s"
                         % (status, reason, content_type, len(body), body))

    def do_POST(self):
        global posts
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                self.rfile.read(size + 2)
                if size == 0:
                    break
        else:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
        key = self.headers.get("Idempotency-Key")
        with lock:
            posts += 1
            if key:
                keys.add(key)
        self.answer(200, b"OK", QUEUED, b"application/json")

    def do_GET(self):
        if self.path != "/count":
            self.answer(404, b"Not Found", b"", b"text/plain")
            return
        with lock:
            body = b"%d %d\n" % (posts, len(keys))
        self.answer(200, b"OK", body, b"text/plain")

    def log_message(self, *args):
        pass


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256


server = Server(("127.0.0.1", 0), Handler)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
server.serve_forever()
PY
python3 "$WORK/provider.py" "$WORK/provider.port" 2>"$WORK/provider.log" &
PROVIDER_PID=$!
for tries in $(seq 100); do
    [ -s "$WORK/provider.port" ] && break
    kill -0 "$PROVIDER_PID" 2>/dev/null || { echo "the e-mail provider exited:"; cat "$WORK/provider.log"; exit 1; }
    sleep 0.05
done
PROVIDER_PORT="$(cat "$WORK/provider.port")"
provider_count() { curl -fsS "http://127.0.0.1:$PROVIDER_PORT/count"; }
# The provider's CPU so far in µs, threads that have exited included (its connection threads come and go).
CLK_TCK="$(getconf CLK_TCK)"
provider_cpu() { awk -v hz="$CLK_TCK" '{ sub(/^.*\) /, ""); printf "%d", ($12 + $13) * 1e6 / hz }' /proc/"$PROVIDER_PID"/stat; }
provider_count >/dev/null || { echo "the e-mail provider does not answer:"; cat "$WORK/provider.log"; exit 1; }

# Its own ceiling: curl POSTing as fast as it can over 16 kept-alive connections (the most the
# workers hold: 8 e-mails at once per process, two processes), timed and counted by the provider.
CEILING_REQUESTS="${BENCH_WORKER_PROVIDER_REQUESTS:-10000}"
read -r posts_before _ < <(provider_count)
cpu_before="$(provider_cpu)"
started=$(now)
curl -sS --parallel --parallel-max 16 -o /dev/null -H 'Content-Type: application/json' \
    -d '{"idempotency_key":"ceiling","order_id":"-","event":"-","to":"x@example.com","subject":"s","text":"t"}' \
    "http://127.0.0.1:$PROVIDER_PORT/v1/messages?n=[1-$CEILING_REQUESTS]" >/dev/null 2>"$WORK/curl.txt" \
    || { echo "curl failed:"; tail -c 2000 "$WORK/curl.txt"; exit 1; }
seconds="$(elapsed "$started")"
read -r posts_after _ < <(provider_count)
PROVIDER_CEILING="$(awk -v n="$((posts_after - posts_before))" -v s="$seconds" 'BEGIN { printf "%.0f", n / s }')"
printf 'e-mail provider (python3 %s ThreadingHTTPServer, port %d): ceiling with curl, 16 connections: %d POSTs in %.2f s = %d/s; its CPU %.1f us per POST\n' \
    "$(python3 -c 'import platform; print(platform.python_version())')" "$PROVIDER_PORT" "$((posts_after - posts_before))" \
    "$seconds" "$PROVIDER_CEILING" "$(awk -v a="$cpu_before" -v b="$(provider_cpu)" -v n="$((posts_after - posts_before))" 'BEGIN { print (b - a) / n }')"
[ "$((posts_after - posts_before))" -eq "$CEILING_REQUESTS" ] || { echo "the provider counted $((posts_after - posts_before)) of $CEILING_REQUESTS POSTs"; exit 1; }

# workers_metric NAME: the counter NAME summed over the running workers' /metrics (all its label
# sets; 0 when no worker has it yet).
workers_metric() {
    local pid port
    for pid in "${WORKER_PIDS[@]}"; do
        port="$(ss -Hltnp 2>/dev/null | awk -v p="pid=$pid," 'index($0, p) { n = split($4, a, ":"); print a[n]; exit }')"
        curl -fsS "http://127.0.0.1:$port/metrics"
    done | awk -v m="$1" '$1 == m || index($1, m "{") == 1 { s += $NF } END { printf "%d", s }'
}

# Per SKU: EMAILS / SKUS paid orders, each with an address, and one `email` job (order_paid) per
# order. The rate limit is set out of reach (100,000 per second, burst 100,000: the token bucket and
# its one-second window never make a worker wait at these rates), so the rate is the worker's and
# the provider's. Redis holds the sale's primed marker, so no worker re-primes the sale meanwhile.
email_per_sku=$((EMAILS / SKUS))
EMAILS=$((email_per_sku * SKUS))
echo "e-mails: EMAIL_RATE_PER_SECOND=100000 EMAIL_BURST=100000, so the rate limiter is not the limit"
declare -A EMAIL_RATE
for processes in $PROCESSES; do
    redis_bench FLUSHDB >/dev/null
    redis_bench SET "fs:{$EMAIL_SALE}:primed" 1 >/dev/null
    psql_bench -c "TRUNCATE jobs, payments, orders, inventory, sales" -c "VACUUM ANALYZE"
    EMAIL_PROVIDER_URL="http://127.0.0.1:$PROVIDER_PORT/v1/messages" \
        EMAIL_SIGNING_SECRET="bench-worker-signing-secret-0123456789abcdef" \
        EMAIL_RATE_PER_SECOND=100000 EMAIL_BURST=100000 start_workers "$processes"
    read -r posts_before keys_before < <(provider_count)
    psql_bench <<SQL
BEGIN;
INSERT INTO sales (id, name, starts_at, ends_at) VALUES ('$EMAIL_SALE', 'bench', now() - interval '1 hour', now() + interval '1 day');
INSERT INTO inventory (sale_id, sku, name, price_cents, initial_stock, available, per_shopper_limit)
SELECT '$EMAIL_SALE', 'sku-' || k, 'Item ' || k, 1000, $email_per_sku + 1000, 1000, 2 FROM generate_series(1, $SKUS) AS k;
INSERT INTO orders (id, sale_id, sku, shopper_id, quantity, amount_cents, status, checkout_token, pay_by, created_at, updated_at, email)
SELECT gen_random_uuid(), '$EMAIL_SALE', 'sku-' || k, 'shopper-' || k || '-' || i, 1, 1000, 'paid',
       'bench-token-' || k || '-' || i, now() - interval '1 minute', now() - interval '11 minutes', now() - interval '2 minutes',
       'shopper-' || k || '-' || i || '@example.com'
FROM generate_series(1, $SKUS) AS k, generate_series(1, $email_per_sku) AS i;
INSERT INTO jobs (kind, payload, dedupe_key)
SELECT 'email', jsonb_build_object('order_id', id, 'event', 'order_paid'), 'email:' || id || ':order_paid' FROM orders;
COMMIT;
SQL
    started=$(now)
    cpu_before="$(servers_cpu)"
    provider_cpu_before="$(provider_cpu)"
    seconds="$(wait_until "$started" "NOT EXISTS (SELECT 1 FROM jobs WHERE kind = 'email' AND status IN ('pending', 'running'))")"
    split="$(cpu_split "$cpu_before" "$EMAILS" "$seconds")"
    provider_cpu="$(provider_cpu)"
    sent="$(workers_metric flashsale_emails_sent_total)" waits="$(workers_metric flashsale_email_rate_limit_waits_total)"
    failures="$(workers_metric flashsale_job_failures_total)" postponed="$(workers_metric flashsale_jobs_postponed_total)"
    stop_workers || { echo "a worker exited with an error:"; cat "$WORK"/worker-*.log; exit 1; }
    read -r posts_after keys_after < <(provider_count)
    posts=$((posts_after - posts_before)) keys=$((keys_after - keys_before))
    jobs_left="$(psql_bench -At -c "SELECT coalesce(string_agg(kind || ' ' || status || ' ' || n, ', '), 'none') FROM
        (SELECT kind, status, count(*) AS n FROM jobs GROUP BY 1, 2 ORDER BY 1, 2) AS c")"
    EMAIL_RATE[$processes]="$(awk -v n="$EMAILS" -v s="$seconds" 'BEGIN { printf "%.0f", n / s }')"
    printf 'e-mails, %d worker process(es): %d e-mails in %.2f s = %d e-mails/s = %.2fx the provider'"'"'s ceiling\n' \
        "$processes" "$EMAILS" "$seconds" "${EMAIL_RATE[$processes]}" \
        "$(awk -v r="${EMAIL_RATE[$processes]}" -v c="$PROVIDER_CEILING" 'BEGIN { print r / c }')"
    echo "${split/per job/per e-mail}"
    awk -v a="$provider_cpu_before" -v b="$provider_cpu" -v n="$EMAILS" -v s="$seconds" \
        'BEGIN { printf "  CPU per e-mail: the provider %.1f us; cores busy: %.2f\n", (b - a) / n, (b - a) / s / 1e6 }'
    printf '  provider received %d POSTs, %d distinct idempotency keys (%d repeated); jobs now: %s\n' \
        "$posts" "$keys" "$((posts - keys))" "$jobs_left"
    printf '  workers'"'"' metrics: %d e-mails sent, %d rate-limit waits, %d job failures, %d jobs put off\n' \
        "$sent" "$waits" "$failures" "$postponed"
    if [ "$keys" -ne "$EMAILS" ] || [ "$posts" -lt "$EMAILS" ] || [ "$jobs_left" != none ]; then
        echo "  e-mail audit FAILED: expected $EMAILS distinct keys, every job done and deleted"; exit 1
    fi
done
kill -TERM "$PROVIDER_PID"
wait "$PROVIDER_PID" 2>/dev/null || true
PROVIDER_PID=
psql_bench -c "TRUNCATE jobs, payments, orders, inventory, sales" -c "VACUUM ANALYZE"

# --- 4. Expiring abandoned orders -------------------------------------------------------------
# Per SKU: the orders reserved ORDERS / SKUS units (one each, one shopper per order), 1,000 units
# were never sold, so available = initial_stock - reserved; Redis holds the same stock, each
# shopper's count of 1, and the primed marker (so the worker does not re-prime the sale).
per_sku=$((ORDERS / SKUS))
ORDERS=$((per_sku * SKUS))
declare -A EXPIRY_RATE
for processes in $PROCESSES; do
    redis_bench FLUSHDB >/dev/null
    psql_bench -c "TRUNCATE jobs, payments, orders, inventory, sales" -c "VACUUM ANALYZE"
    awk -v skus="$SKUS" -v per="$per_sku" -v sale="$SALE" '
        function cmd(a, b, c) { printf "*3\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n", length(a), a, length(b), b, length(c), c }
        BEGIN {
            for (k = 1; k <= skus; k++) {
                cmd("SET", sprintf("fs:{%s}:stock:sku-%d", sale, k), 1000)
                for (i = 1; i <= per; i++) cmd("SET", sprintf("fs:{%s}:bought:shopper-%d-%d:sku-%d", sale, k, i, k), 1)
            }
            cmd("SET", sprintf("fs:{%s}:primed", sale), 1)
        }' >"$WORK/redis.resp"
    redis_bench --pipe <"$WORK/redis.resp" >/dev/null
    start_workers "$processes"
    psql_bench <<SQL
BEGIN;
INSERT INTO sales (id, name, starts_at, ends_at) VALUES ('$SALE', 'bench', now() - interval '1 hour', now() + interval '1 day');
INSERT INTO inventory (sale_id, sku, name, price_cents, initial_stock, available, per_shopper_limit)
SELECT '$SALE', 'sku-' || k, 'Item ' || k, 1000, $per_sku + 1000, 1000, 2 FROM generate_series(1, $SKUS) AS k;
INSERT INTO orders (id, sale_id, sku, shopper_id, quantity, amount_cents, status, checkout_token, pay_by, created_at, updated_at)
SELECT gen_random_uuid(), '$SALE', 'sku-' || k, 'shopper-' || k || '-' || i, 1, 1000, 'reserved',
       'bench-token-' || k || '-' || i, now() - interval '1 minute', now() - interval '11 minutes', now() - interval '11 minutes'
FROM generate_series(1, $SKUS) AS k, generate_series(1, $per_sku) AS i;
INSERT INTO jobs (kind, payload, dedupe_key, run_at)
SELECT 'order_expiry', jsonb_build_object('order_id', id), 'order_expiry:' || id, pay_by FROM orders WHERE sale_id = '$SALE';
COMMIT;
SQL
    started=$(now)
    cpu_before="$(servers_cpu)"
    seconds="$(wait_until "$started" "NOT EXISTS (SELECT 1 FROM orders WHERE status = 'reserved')
        AND NOT EXISTS (SELECT 1 FROM jobs WHERE kind = 'redis_release' AND status IN ('pending', 'running') AND payload->>'sale_id' = '$SALE')")"
    split="$(cpu_split "$cpu_before" "$ORDERS" "$seconds")"
    stop_workers || { echo "a worker exited with an error:"; cat "$WORK"/worker-*.log; exit 1; }
    EXPIRY_RATE[$processes]="$(awk -v n="$ORDERS" -v s="$seconds" 'BEGIN { printf "%.0f", n / s }')"
    printf 'expiry, %d worker process(es): %d orders expired in %.2f s = %d orders/s = %.3fx the floor\n' \
        "$processes" "$ORDERS" "$seconds" "${EXPIRY_RATE[$processes]}" \
        "$(awk -v r="${EXPIRY_RATE[$processes]}" -v f="$FLOOR" 'BEGIN { print r / f }')"
    echo "${split/per job/per order}"

    # The audit.
    read -r expired other < <(psql_bench -At -F ' ' -c "SELECT count(*) FILTER (WHERE status = 'expired'),
        count(*) FILTER (WHERE status <> 'expired') FROM orders WHERE sale_id = '$SALE'")
    read -r short < <(psql_bench -At -c "SELECT count(*) FROM inventory WHERE sale_id = '$SALE' AND available <> initial_stock")
    mismatched=0
    while read -r sku available; do
        [ "$(redis_bench GET "fs:{$SALE}:stock:$sku")" = "$available" ] || mismatched=$((mismatched + 1))
    done < <(psql_bench -At -F ' ' -c "SELECT sku, available FROM inventory WHERE sale_id = '$SALE' ORDER BY sku")
    counts_left="$(redis_bench --scan --pattern "fs:{$SALE}:bought:*" | wc -l)"
    reconcile_rc=0
    "$BIN" reconcile --sale "$SALE" >"$WORK/reconcile.txt" 2>&1 || reconcile_rc=$?
    jobs_left="$(psql_bench -At -c "SELECT string_agg(kind || ' ' || status || ' ' || n, ', ') FROM
        (SELECT kind, status, count(*) AS n FROM jobs GROUP BY 1, 2 ORDER BY 1, 2) AS c")"
    printf '  audit: %d expired, %d not; SKUs with available != initial_stock: %d; Redis stock != available: %d;\n' \
        "$expired" "$other" "$short" "$mismatched"
    printf '         shopper counts left in Redis: %d; flashsale reconcile exit %d; jobs now: %s\n' \
        "$counts_left" "$reconcile_rc" "$jobs_left"
    if [ "$expired" -ne "$ORDERS" ] || [ "$other" -ne 0 ] || [ "$short" -ne 0 ] || [ "$mismatched" -ne 0 ] \
        || [ "$counts_left" -ne 0 ] || [ "$reconcile_rc" -ne 0 ]; then
        echo "  audit FAILED"; cat "$WORK/reconcile.txt"; exit 1
    fi
done

echo "summary: floor $FLOOR jobs/s; no-op jobs/s by worker processes:$(for p in $PROCESSES; do
    printf ' %d: %d (%.2fx)' "$p" "${NOOP_RATE[$p]}" "$(awk -v r="${NOOP_RATE[$p]}" -v f="$FLOOR" 'BEGIN { print r / f }')"; done)"
echo "         e-mails delivered/s by worker processes:$(for p in $PROCESSES; do printf ' %d: %d' "$p" "${EMAIL_RATE[$p]}"; done)"
echo "         orders expired/s by worker processes:$(for p in $PROCESSES; do
    printf ' %d: %d (%.3fx)' "$p" "${EXPIRY_RATE[$p]}" "$(awk -v r="${EXPIRY_RATE[$p]}" -v f="$FLOOR" 'BEGIN { print r / f }')"; done)"
echo "         (the issue asks >= 20,000 no-op jobs/s with one worker process)"
