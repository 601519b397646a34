#!/usr/bin/env bash
# Local PostgreSQL + Redis for FlashSale development and tests.
#
#   scripts/services.sh install [--bench]   install missing apt packages (wrk with --bench)
#   scripts/services.sh start               install, then start both servers (idempotent)
#   scripts/services.sh stop                stop both servers (idempotent)
#   scripts/services.sh status              one line per server; exit 0 if both answer, 3 otherwise
#   scripts/services.sh env [--test]        print `export DATABASE_URL=... REDIS_URL=...` lines
#
# Everything lives under the git-ignored .local/ folder of the repository:
#   .local/pg/data  .local/pg/postgres.log  .local/pg/run (unix socket)
#   .local/redis/   (redis.pid, redis.log, appendonlydir/: AOF, fsync every second)
# Both servers listen on 127.0.0.1 only, on non-default ports:
#   FLASHSALE_PG_PORT (default 55432), FLASHSALE_REDIS_PORT (default 56379).
# Redis refuses writes past FLASHSALE_REDIS_MAXMEMORY (default 1gb; noeviction).
# Linux (Debian/Ubuntu) only: uses apt-get, dpkg and runuser.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
LOCAL="$ROOT/.local"
PG_DIR="$LOCAL/pg"
PG_DATA="$PG_DIR/data"
PG_LOG="$PG_DIR/postgres.log"
REDIS_DIR="$LOCAL/redis"
REDIS_PID="$REDIS_DIR/redis.pid"
REDIS_LOG="$REDIS_DIR/redis.log"

PG_PORT=${FLASHSALE_PG_PORT:-55432}
REDIS_PORT=${FLASHSALE_REDIS_PORT:-56379}
REDIS_MAXMEMORY=${FLASHSALE_REDIS_MAXMEMORY:-1gb}
PG_USER=flashsale
DATABASES=(flashsale flashsale_test)
HOST=127.0.0.1

PACKAGES=(redis-server redis-tools libhiredis-dev postgresql curl)
BENCH_PACKAGES=(wrk time)

SUDO=
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; fi
IS_ROOT=false
if [ "$(id -u)" -eq 0 ]; then IS_ROOT=true; fi

say() { printf 'services: %s\n' "$*"; }

# die MESSAGE [LOGFILE]: one clear line, then the tail of the relevant log.
die() {
    printf 'services: error: %s\n' "$1" >&2
    if [ $# -ge 2 ] && [ -f "$2" ]; then
        printf -- '--- last lines of %s ---\n' "$2" >&2
        tail -n 25 "$2" >&2 || true
        printf -- '--- end of %s ---\n' "$2" >&2
    fi
    exit 1
}

rel() { printf '%s' "${1#"$ROOT"/}"; }

check_port() {
    local name=$1 value=$2
    if ! [[ $value =~ ^[0-9]+$ ]] || [ "$value" -lt 1 ] || [ "$value" -gt 65535 ]; then
        die "$name must be a TCP port number, got '$value'"
    fi
}
check_port FLASHSALE_PG_PORT "$PG_PORT"
check_port FLASHSALE_REDIS_PORT "$REDIS_PORT"

# ---------------------------------------------------------------- install

is_installed() {
    local status
    status=$(dpkg -s "$1" 2>/dev/null | sed -n 's/^Status: //p') || true
    [ "$status" = "install ok installed" ]
}

cmd_install() {
    local wanted=("${PACKAGES[@]}") missing=() p
    case "${1:-}" in
        "") ;;
        --bench) wanted+=("${BENCH_PACKAGES[@]}") ;;
        *) die "install: unknown option '$1' (expected --bench)" ;;
    esac
    command -v dpkg >/dev/null 2>&1 || die "dpkg not found: this script supports Debian/Ubuntu only"
    for p in "${wanted[@]}"; do
        is_installed "$p" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0

    if [ -n "$SUDO" ] && ! command -v sudo >/dev/null 2>&1; then
        die "missing packages (${missing[*]}) and not root and no sudo; install them manually"
    fi
    say "installing missing packages: ${missing[*]}"
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q \
        || die "apt-get update failed"
    # Installing redis-server/postgresql may try to start their system services
    # (on the default ports); irrelevant here, our servers use their own ports.
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" \
        || die "apt-get install ${missing[*]} failed"
}

# ---------------------------------------------------------------- postgres helpers

PG_BIN=

# Binaries matching an existing cluster's major version if there is one and it is
# installed, otherwise the newest /usr/lib/postgresql/*/bin.
find_pg_bin() {
    local want="" dir
    if [ -f "$PG_DATA/PG_VERSION" ]; then
        want=$(cat "$PG_DATA/PG_VERSION")
        if [ -x "/usr/lib/postgresql/$want/bin/pg_ctl" ]; then
            PG_BIN="/usr/lib/postgresql/$want/bin"
            return 0
        fi
    fi
    dir=$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -n 1)
    if [ -z "$dir" ] || [ ! -x "$dir/pg_ctl" ]; then
        return 1
    fi
    if [ -n "$want" ]; then
        die "$(rel "$PG_DATA") was created by PostgreSQL $want, which is not installed (found $dir); remove $(rel "$PG_DIR") to recreate it"
    fi
    PG_BIN=$dir
}

require_pg_bin() {
    find_pg_bin || die "no PostgreSQL binaries found under /usr/lib/postgresql/*/bin (run: scripts/services.sh install)"
}

# Run a command as the user that owns the cluster: postgres when we are root
# (PostgreSQL refuses to run as root), ourselves otherwise. cd / so that an
# unreadable current directory does not produce warnings.
as_pg() {
    if $IS_ROOT; then
        if command -v runuser >/dev/null 2>&1; then
            (cd / && runuser -u postgres -- "$@")
        else
            (cd / && su postgres -s /bin/sh -c "$(printf '%q ' "$@")")
        fi
    else
        "$@"
    fi
}

pg_answers() {
    "$PG_BIN/pg_isready" -q -h "$HOST" -p "$PG_PORT" -t 2 >/dev/null 2>&1
}

pg_psql() {
    "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$HOST" -p "$PG_PORT" -U "$PG_USER" "$@"
}

pg_ours_running() {
    [ -f "$PG_DATA/PG_VERSION" ] && as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1
}

# Make every ancestor of $PG_DIR traversable for the postgres user, changing
# only the directories that actually block it (e.g. a 0700 mktemp dir).
fix_pg_traversal() {
    $IS_ROOT || return 0
    local path="" part
    local -a parts
    IFS=/ read -r -a parts <<<"${PG_DIR#/}"
    for part in "${parts[@]}"; do
        path="$path/$part"
        if ! as_pg test -x "$path"; then
            chmod o+x "$path"
            say "chmod o+x $path (the postgres user could not traverse it to reach $(rel "$PG_DATA"))"
            as_pg test -x "$path" \
                || die "the postgres user still cannot traverse $path (ACLs? group permissions?); fix its permissions or move the repository"
        fi
    done
}

# Unix socket directory: inside .local/pg unless the socket path would exceed the
# ~107 byte sun_path limit (or contain characters unsafe in pg_ctl -o).
pg_socket_dir() {
    local dir="$PG_DIR/run"
    local sock="$dir/.s.PGSQL.$PG_PORT"
    if [ ${#sock} -gt 100 ] || [[ $dir =~ [^A-Za-z0-9._/+-] ]]; then
        local hash
        hash=$(printf '%s' "$ROOT" | cksum | cut -d' ' -f1)
        dir="/tmp/flashsale-pg-$(id -u)-$hash"
    fi
    printf '%s' "$dir"
}

prepare_pg_dirs() {
    mkdir -p "$PG_DIR"
    if $IS_ROOT; then
        id postgres >/dev/null 2>&1 || die "user 'postgres' does not exist (is the postgresql package installed?)"
        # Everything under .local/pg must belong to postgres (only chown what is not).
        find "$PG_DIR" ! -user postgres -exec chown postgres:postgres {} + 2>/dev/null || true
        fix_pg_traversal
    fi
}

pg_initdb() {
    [ -f "$PG_DATA/PG_VERSION" ] && return 0
    if [ -d "$PG_DATA" ] && [ -n "$(ls -A "$PG_DATA" 2>/dev/null)" ]; then
        die "$(rel "$PG_DATA") exists but is not a PostgreSQL data directory; remove $(rel "$PG_DIR") and retry"
    fi
    local log="$PG_DIR/initdb.log"
    as_pg touch "$log"
    say "postgres: initializing $(rel "$PG_DATA") with $PG_BIN/initdb"
    local -a args=(-D "$PG_DATA" --auth=trust -U "$PG_USER" --encoding=UTF8)
    if ! as_pg "$PG_BIN/initdb" "${args[@]}" --locale=C.UTF-8 >"$log" 2>&1; then
        as_pg rm -rf "$PG_DATA"
        as_pg "$PG_BIN/initdb" "${args[@]}" --no-locale >>"$log" 2>&1 \
            || die "initdb failed" "$log"
    fi
    # Dev-box tuning. Durability settings (fsync, synchronous_commit,
    # full_page_writes) deliberately stay at their defaults.
    as_pg tee -a "$PG_DATA/postgresql.conf" >/dev/null <<'EOF'

# --- FlashSale local dev settings (scripts/services.sh) ---
# Port and unix socket directory are passed by pg_ctl -o at each start.
listen_addresses = '127.0.0.1'
max_connections = 200
shared_buffers = 256MB
EOF
}

pg_create_databases() {
    local db exists
    for db in "${DATABASES[@]}"; do
        exists=$(pg_psql -d postgres -tA -c "SELECT 1 FROM pg_database WHERE datname = '$db'") \
            || die "postgres: cannot query pg_database on $HOST:$PG_PORT as $PG_USER" "$PG_LOG"
        if [ "$exists" != 1 ]; then
            pg_psql -d postgres -c "CREATE DATABASE \"$db\"" \
                || die "postgres: CREATE DATABASE $db failed" "$PG_LOG"
            say "postgres: created database $db"
        fi
    done
}

start_pg() {
    require_pg_bin
    if pg_answers; then
        pg_psql -d postgres -tA -c 'SELECT 1' >/dev/null 2>&1 \
            || die "postgres: something answers on $HOST:$PG_PORT but does not accept user $PG_USER; stop it or set FLASHSALE_PG_PORT"
        say "postgres: already running on $HOST:$PG_PORT, reusing it"
        pg_create_databases
        return 0
    fi

    prepare_pg_dirs
    pg_initdb

    local sockdir
    sockdir=$(pg_socket_dir)
    if [ ! -d "$sockdir" ]; then
        mkdir -m 700 "$sockdir"
        if $IS_ROOT; then chown postgres:postgres "$sockdir"; fi
    fi
    local want_owner
    if $IS_ROOT; then want_owner=postgres; else want_owner=$(id -un); fi
    [ "$(stat -c %U "$sockdir")" = "$want_owner" ] \
        || die "postgres: socket directory $sockdir is not owned by $want_owner"

    local out
    if ! out=$(as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t 60 \
            -o "-h $HOST -p $PG_PORT -k $sockdir" start 2>&1); then
        printf '%s\n' "$out" >&2
        die "postgres: failed to start on $HOST:$PG_PORT" "$PG_LOG"
    fi
    pg_answers || die "postgres: started but does not answer on $HOST:$PG_PORT" "$PG_LOG"
    say "postgres: started on $HOST:$PG_PORT (data $(rel "$PG_DATA"), log $(rel "$PG_LOG"))"
    pg_create_databases
}

stop_pg() {
    if ! find_pg_bin; then
        say "postgres: no PostgreSQL binaries installed, nothing to stop"
        return 0
    fi
    if ! pg_ours_running; then
        say "postgres: not running"
        return 0
    fi
    local out
    if ! out=$(as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w -t 60 stop 2>&1); then
        printf '%s\n' "$out" >&2
        die "postgres: pg_ctl stop failed" "$PG_LOG"
    fi
    say "postgres: stopped"
}

status_pg() {
    if ! find_pg_bin; then
        say "postgres: not installed"
        return 1
    fi
    if pg_answers; then
        if pg_ours_running; then
            say "postgres: running on $HOST:$PG_PORT (data $(rel "$PG_DATA"), pid $(head -n 1 "$PG_DATA/postmaster.pid"))"
        else
            say "postgres: a server answers on $HOST:$PG_PORT, but not the one in $(rel "$PG_DATA")"
        fi
        return 0
    fi
    if pg_ours_running; then
        say "postgres: process running for $(rel "$PG_DATA") but not answering on $HOST:$PG_PORT (see $(rel "$PG_LOG"))"
    else
        say "postgres: not running (port $PG_PORT)"
    fi
    return 1
}

# ---------------------------------------------------------------- redis helpers

# redis-cli has no read timeout: bound it, so that a non-redis listener on the
# port cannot hang us.
redis_cli() { timeout 5 redis-cli -h "$HOST" -p "$REDIS_PORT" "$@"; }

redis_answers() { [ "$(redis_cli ping 2>/dev/null)" = PONG ]; }

# Is the redis on our port the one started from this repository's .local/redis?
redis_is_ours() {
    local dir
    dir=$(redis_cli --raw config get dir 2>/dev/null | sed -n 2p) || return 1
    [ "$dir" = "$REDIS_DIR" ]
}

start_redis() {
    command -v redis-server >/dev/null 2>&1 || die "redis-server not found (run: scripts/services.sh install)"
    local reply
    reply=$(redis_cli ping 2>&1) || true
    if [ "$reply" = PONG ]; then
        say "redis: already running on $HOST:$REDIS_PORT, reusing it"
        # A server started before persistence and the memory limit were set gets them now.
        if redis_is_ours; then
            redis_cli config set appendonly yes >/dev/null
            redis_cli config set appendfsync everysec >/dev/null
            redis_cli config set maxmemory "$REDIS_MAXMEMORY" >/dev/null
            redis_cli config set maxmemory-policy noeviction >/dev/null
        fi
        return 0
    fi
    if [[ $reply != *"Connection refused"* ]]; then
        die "redis: $HOST:$REDIS_PORT is in use but does not answer PING with PONG (${reply:-no reply within 5 s}); stop it or set FLASHSALE_REDIS_PORT"
    fi
    mkdir -p "$REDIS_DIR"
    rm -f "$REDIS_PID"
    # A data store, not a cache: the append-only file (fsync every second) keeps tokens, idempotency
    # records and the reservation ledger across a restart, and at maxmemory writes are refused
    # (the service answers 503) rather than keys evicted.
    redis-server --port "$REDIS_PORT" --bind "$HOST" --daemonize yes \
        --dir "$REDIS_DIR" --pidfile "$REDIS_PID" --logfile "$REDIS_LOG" \
        --save "" --appendonly yes --appendfsync everysec \
        --maxmemory "$REDIS_MAXMEMORY" --maxmemory-policy noeviction \
        || die "redis: redis-server failed to start on $HOST:$REDIS_PORT" "$REDIS_LOG"
    local i
    for ((i = 0; i < 50; i++)); do
        if redis_answers; then
            say "redis: started on $HOST:$REDIS_PORT (dir $(rel "$REDIS_DIR"), log $(rel "$REDIS_LOG"))"
            return 0
        fi
        sleep 0.2
    done
    die "redis: no PONG from $HOST:$REDIS_PORT after 10 s" "$REDIS_LOG"
}

stop_redis() {
    command -v redis-cli >/dev/null 2>&1 || { say "redis: redis-cli not installed, nothing to stop"; return 0; }
    if ! redis_answers; then
        say "redis: not running"
        return 0
    fi
    if ! redis_is_ours; then
        say "redis: the server on $HOST:$REDIS_PORT was not started from $(rel "$REDIS_DIR"); leaving it alone"
        return 0
    fi
    redis_cli shutdown >/dev/null 2>&1 || true
    local i
    for ((i = 0; i < 50; i++)); do
        if ! redis_answers; then
            say "redis: stopped"
            return 0
        fi
        sleep 0.2
    done
    die "redis: still answering on $HOST:$REDIS_PORT after SHUTDOWN" "$REDIS_LOG"
}

status_redis() {
    if ! command -v redis-cli >/dev/null 2>&1; then
        say "redis: not installed"
        return 1
    fi
    if redis_answers; then
        if redis_is_ours; then
            say "redis: running on $HOST:$REDIS_PORT (dir $(rel "$REDIS_DIR"), pid $(cat "$REDIS_PID" 2>/dev/null || echo '?'))"
        else
            say "redis: a server answers on $HOST:$REDIS_PORT, but not the one in $(rel "$REDIS_DIR")"
        fi
        return 0
    fi
    say "redis: not running (port $REDIS_PORT)"
    return 1
}

# ---------------------------------------------------------------- commands

cmd_env() {
    local db=flashsale index=0
    case "${1:-}" in
        "") ;;
        --test) db=flashsale_test index=1 ;;
        *) die "env: unknown option '$1' (expected --test)" ;;
    esac
    printf 'export DATABASE_URL=postgres://%s@%s:%s/%s\n' "$PG_USER" "$HOST" "$PG_PORT" "$db"
    printf 'export REDIS_URL=redis://%s:%s/%s\n' "$HOST" "$REDIS_PORT" "$index"
}

usage() {
    sed -n '2,9p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

main() {
    local cmd=${1:-}
    [ $# -gt 0 ] && shift
    case "$cmd" in
        install) cmd_install "$@" ;;
        start)
            [ $# -eq 0 ] || die "start takes no arguments"
            cmd_install
            start_pg
            start_redis
            ;;
        stop)
            [ $# -eq 0 ] || die "stop takes no arguments"
            stop_pg
            stop_redis
            ;;
        status)
            local rc=0
            status_pg || rc=3
            status_redis || rc=3
            return "$rc"
            ;;
        env) cmd_env "$@" ;;
        -h | --help | help) usage ;;
        *)
            [ -z "$cmd" ] || printf "services: error: unknown command '%s'\n" "$cmd" >&2
            usage >&2
            exit 2
            ;;
    esac
}

main "$@"
