#!/usr/bin/env bash
# Sale day on a fleet, with a Redis outage: two release-built service instances behind nginx
# (installed when missing) and one worker, a scenario (default sale-day.json, with its bots) sent
# to nginx, and Redis stopped for REDIS_DOWN seconds (default 10) REDIS_STOP_AT seconds into the
# schedule (default 14: four seconds into sale-day's spike), then started again. The load test's
# audit is the verdict (no oversell, the stores agree, every 201 is an order) and its exit status
# is this script's; after it, each instance's protections are read from its /metrics: 429s and
# fleet-wide blocks, shed requests, circuit-breaker state. Arguments after the scenario go to
# `flashsale-loadtest run`. LOAD_SHEDDING=off runs the same fleet without shedding.
#   scripts/rehearse-fleet.sh [SCENARIO] [flashsale-loadtest run options...]
set -euo pipefail
cd "$(dirname "$0")/.."

SCENARIO="${1:-LoadTests/Scenarios/sale-day.json}"
shift || true
PG_PORT="${FLASHSALE_PG_PORT:-55432}"
REDIS_PORT="${FLASHSALE_REDIS_PORT:-56379}"
BALANCER_PORT="${FLEET_HTTP_PORT:-18100}"
INSTANCE_PORTS=("$((BALANCER_PORT + 1))" "$((BALANCER_PORT + 2))")
WORKER_METRICS_PORT="$((BALANCER_PORT + 3))"
REDIS_STOP_AT="${REDIS_STOP_AT:-14}"
REDIS_DOWN="${REDIS_DOWN:-10}"
export DATABASE_URL="postgres://flashsale@127.0.0.1:$PG_PORT/flashsale"
export REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
export JWT_SECRET="${JWT_SECRET:-rehearsal-secret-0123456789-0123456789}" LOG_LEVEL=warning
WORK="$(mktemp -d)"
PIDS=()
on_exit() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
    # Redis comes back whatever happened to the run.
    scripts/services.sh start >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap on_exit EXIT
say() { printf 'rehearse-fleet: %s\n' "$*" >&2; }

if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then
    say "installing nginx (the load balancer)"
    SUDO=
    if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; fi
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends nginx-light >/dev/null 2>&1 ||
        $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends nginx >/dev/null
fi
NGINX="$(command -v nginx || echo /usr/sbin/nginx)"

scripts/services.sh start >/dev/null
BIN="${FLASHSALE_BIN:-$(scripts/release-binary.sh flashsale)}"
LOADTEST="${FLASHSALE_LOADTEST_BIN:-$(scripts/release-binary.sh flashsale-loadtest)}"
"$BIN" migrate >/dev/null

# started NAME URL: waits for URL to answer, or shows NAME's log and stops.
started() {
    for _ in $(seq 100); do curl -sf "$2" >/dev/null && return; sleep 0.1; done
    say "$1 did not start"
    tail -n 20 "$WORK/$1.log" >&2
    exit 1
}
# The load balancer is the only proxy the instances trust: X-Forwarded-For names the shopper.
for index in 0 1; do
    port="${INSTANCE_PORTS[$index]}"
    HTTP_PORT="$port" TRUSTED_PROXIES=127.0.0.1 "$BIN" serve >"$WORK/instance-$index.log" 2>&1 &
    PIDS+=($!)
    started "instance-$index" "http://127.0.0.1:$port/healthz"
done
WORKER_METRICS_PORT="$WORKER_METRICS_PORT" EMAIL_OUTBOX_DIR="$WORK/outbox" "$BIN" worker >"$WORK/worker.log" 2>&1 &
PIDS+=($!)

mkdir -p "$WORK/nginx/logs"
cat >"$WORK/nginx/nginx.conf" <<NGINX
$([ "$(id -u)" -eq 0 ] && echo "user root;")
worker_processes 1;
error_log $WORK/nginx/logs/error.log warn;
pid $WORK/nginx/nginx.pid;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $WORK/nginx/body;
    proxy_temp_path $WORK/nginx/proxy;
    fastcgi_temp_path $WORK/nginx/fastcgi;
    uwsgi_temp_path $WORK/nginx/uwsgi;
    scgi_temp_path $WORK/nginx/scgi;
    upstream flashsale {
        least_conn;
        server 127.0.0.1:${INSTANCE_PORTS[0]} max_fails=0;
        server 127.0.0.1:${INSTANCE_PORTS[1]} max_fails=0;
        keepalive 64;
    }
    server {
        listen 127.0.0.1:$BALANCER_PORT;
        location / {
            proxy_pass http://flashsale;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host \$host;
            proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
            # A purchase is not idempotent to nginx: never sent to the other instance after a failure.
            proxy_next_upstream off;
        }
    }
}
NGINX
"$NGINX" -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" -g 'daemon off;' 2>"$WORK/nginx.log" &
PIDS+=($!)
started nginx "http://127.0.0.1:$BALANCER_PORT/healthz"

START_AT="$(date -u -d '+20 seconds' +%Y-%m-%dT%H:%M:%SZ)"
"$LOADTEST" run "$SCENARIO" --target "http://127.0.0.1:$BALANCER_PORT" --start-at "$START_AT" "$@" &
LOADTEST_PID=$!
sleep $(($(date -d "$START_AT" +%s) - $(date +%s) + REDIS_STOP_AT))
say "Redis stopped at $(date -u +%T), ${REDIS_STOP_AT} s into the schedule, for ${REDIS_DOWN} s"
redis-cli -p "$REDIS_PORT" SHUTDOWN >/dev/null 2>&1 || true
sleep "$REDIS_DOWN"
scripts/services.sh start >/dev/null
say "Redis is back at $(date -u +%T)"
status=0
wait "$LOADTEST_PID" || status=$?

# What each instance did to protect the stores, from its own counters.
for index in 0 1; do
    curl -sf "http://127.0.0.1:${INSTANCE_PORTS[$index]}/metrics" | awk -v name="instance $index" '
        /^flashsale_rate_limited_total\{/ { limited += $NF }
        /^flashsale_rate_limit_blocks_total\{/ { blocks += $NF }
        /^flashsale_shed_total\{/ { shed += $NF }
        /^flashsale_circuit_breaker_state\{/ { breakers = breakers " " $1 "=" $NF }
        /^hb_requests\{/ && /status_code="503"/ { unavailable += $NF }
        END { printf "%s: %d refused 429, %d blocks, %d shed, %d answered 503; breakers now:%s\n",
            name, limited, blocks, shed, unavailable, breakers }'
done
exit "$status"
