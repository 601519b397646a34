#!/usr/bin/env bash
# Seeding 1,000,000 SKUs with `flashsale seed` against the bare floor, in one run: `psql \copy` of
# the same rows into inventory plus `redis-cli --pipe` of the same stock keys. The issue asks for
# at most 2x the floor and at most 150 MB peak memory for the command (GNU time's max RSS).
set -euo pipefail
cd "$(dirname "$0")/.."

PG_PORT="${FLASHSALE_PG_PORT:-55432}"
REDIS_PORT="${FLASHSALE_REDIS_PORT:-56379}"
ROWS="${BENCH_SEED_ROWS:-1000000}"
ROUNDS="${BENCH_SEED_ROUNDS:-2}"
DB=flashsale_bench_seed
REDIS_DB=14
SALE=bench-seed
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
ADMIN_URL="postgres://flashsale@127.0.0.1:$PG_PORT/flashsale"
export DATABASE_URL="postgres://flashsale@127.0.0.1:$PG_PORT/$DB" REDIS_URL="redis://127.0.0.1:$REDIS_PORT/$REDIS_DB" LOG_LEVEL=warning
psql_bench() { psql -q -X -h 127.0.0.1 -p "$PG_PORT" -U flashsale -d "$DB" -v ON_ERROR_STOP=1 "$@"; }

BIN="$(scripts/release-binary.sh flashsale)"

psql -q -X -h 127.0.0.1 -p "$PG_PORT" -U flashsale -d flashsale -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
"$BIN" migrate >/dev/null

echo "writing $ROWS rows: the seed's CSV, and the same rows as psql \\copy and redis-cli --pipe input..."
awk -v n="$ROWS" 'BEGIN { print "sku,name,price_cents,stock,per_shopper_limit"
    for (i = 1; i <= n; i++) printf "sku-%07d,Item %d,%d,%d,2\n", i, i, 500 + (i * 731) % 9500, 100 }' >"$WORK/inventory.csv"
awk -v n="$ROWS" -v sale="$SALE" 'BEGIN {
    for (i = 1; i <= n; i++) printf "%s\tsku-%07d\tItem %d\t%d\t100\t100\t2\n", sale, i, i, 500 + (i * 731) % 9500 }' >"$WORK/inventory.tsv"
awk -v n="$ROWS" -v sale="$SALE" 'BEGIN {
    for (i = 1; i <= n; i++) { key = sprintf("fs:{%s}:stock:sku-%07d", sale, i)
        printf "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$3\r\n100\r\n", length(key), key } }' >"$WORK/stock.resp"

reset() {
    psql_bench -c "DELETE FROM inventory WHERE sale_id = '$SALE'" -c "DELETE FROM sales WHERE id = '$SALE'" -c "VACUUM inventory"
    redis-cli -p "$REDIS_PORT" -n "$REDIS_DB" FLUSHDB >/dev/null
}
now() { date +%s.%N; }

best_floor=""; best_seed=""; peak_kb=0
for round in $(seq "$ROUNDS"); do
    reset
    psql_bench -c "INSERT INTO sales (id, name, starts_at, ends_at) VALUES ('$SALE', 'bench', now() + interval '1 day', now() + interval '2 days')"
    started=$(now)
    psql_bench -c "\\copy inventory (sale_id, sku, name, price_cents, initial_stock, available, per_shopper_limit) FROM '$WORK/inventory.tsv'"
    redis-cli -p "$REDIS_PORT" -n "$REDIS_DB" --pipe <"$WORK/stock.resp" >/dev/null
    floor=$(awk -v a="$started" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }')

    reset
    /usr/bin/time -f "%e %M" -o "$WORK/time.txt" "$BIN" seed --sale "$SALE" --name bench \
        --starts-at now+1d --ends-at now+2d --file "$WORK/inventory.csv" >"$WORK/seed.out" 2>"$WORK/seed.err" \
        || { cat "$WORK/seed.err"; exit 1; }
    read -r seed kb <"$WORK/time.txt"
    stocked=$(redis-cli -p "$REDIS_PORT" -n "$REDIS_DB" DBSIZE)
    rows=$(psql_bench -At -c "SELECT count(*) FROM inventory WHERE sale_id = '$SALE'")
    [ "$rows" -eq "$ROWS" ] && [ "$stocked" -eq "$ROWS" ] || { echo "seed wrote $rows rows and $stocked keys, expected $ROWS"; exit 1; }
    printf 'round %d: floor (psql \\copy + redis-cli --pipe) %6.2f s   flashsale seed %6.2f s   peak RSS %d MB\n' \
        "$round" "$floor" "$seed" $((kb / 1024))
    best_floor=$(awk -v a="${best_floor:-1e9}" -v b="$floor" 'BEGIN { print (b < a) ? b : a }')
    best_seed=$(awk -v a="${best_seed:-1e9}" -v b="$seed" 'BEGIN { print (b < a) ? b : a }')
    [ "$kb" -gt "$peak_kb" ] && peak_kb=$kb
done
reset
awk -v s="$best_seed" -v f="$best_floor" -v m="$((peak_kb / 1024))" -v n="$ROWS" 'BEGIN {
    printf "seeding %d SKUs: flashsale seed %.2f s vs floor %.2f s = %.2fx (best of each); peak RSS %d MB\n", n, s, f, s / f, m }'
psql -q -X -h 127.0.0.1 -p "$PG_PORT" -U flashsale -d flashsale -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)"
