# Sourced by the bench scripts: CPU time from the scheduler's own count (schedstat), exact, where
# /proc/PID/stat samples at each clock tick (250 a second here).

# threads_cpu PID...: CPU time the threads of these processes have run so far, in microseconds.
threads_cpu() {
    local pid
    for pid in "$@"; do cat /proc/"$pid"/task/*/schedstat 2>/dev/null; done | awk '{ ns += $1 } END { printf "%d", ns / 1000 }'
}

# stores_cpu REDIS_PORT: "POSTGRES REDIS" CPU microseconds so far: the local PostgreSQL's postmaster and
# its children (backends, WAL writer and the rest) and the Redis on REDIS_PORT, not other servers of
# the machine (a concurrent `make test` starts its own). A difference of two readings is what one
# stretch of load cost each; a backend that exits in between takes its share with it.
stores_cpu() {
    local postmaster redis
    postmaster="$(head -n 1 .local/pg/data/postmaster.pid 2>/dev/null || true)"
    redis="$(redis-cli -p "$1" INFO server | sed -nE 's/^process_id:([0-9]+).*/\1/p')"
    # shellcheck disable=SC2046
    echo "$(threads_cpu ${postmaster:+$postmaster $(pgrep -P "$postmaster")}) $(threads_cpu $redis)"
}
