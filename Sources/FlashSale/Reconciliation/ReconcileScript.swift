import RedisClient

/// Compares (and with mode `repair`, rewrites) one batch of a sale's Redis stock and per-shopper
/// counts against PostgreSQL figures the caller read just before. Runs atomically, so the ledger it
/// reads and the stock it writes are the same instant for every purchase script.
///
/// The expected Redis stock of a SKU is PostgreSQL's `available`, minus units reserved in Redis
/// whose order has not committed (ledger entries not in the committed list), minus units of
/// cancelled orders whose Redis release has not run yet (no released marker): those releases will
/// still add their units.
///
/// The idempotency records and release markers read here are keys of the same sale (one hash tag,
/// so one cluster slot), built from ARGV[2].
/// KEYS: ledger, then one stock key per SKU, then one bought key per shopper count.
/// ARGV: mode, key prefix, SKU count, committed-token count, release count, count count, then
/// SKU × (sku, available), token × committed, release × (order, sku, shopper, quantity),
/// count × (shopper, sku, units ordered).
/// Answers per SKU (Redis value or -1, expected, in checkout, releases pending), then the number of
/// per-shopper counts that differed.
enum ReconcileScript {
    static let script = RedisScript(
        """
        local repair = ARGV[1] == 'repair'
        local prefix = ARGV[2]
        local skus, ntokens, nreleases, ncounts = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
        local at = 7
        local available = {}
        local order = {}
        for i = 1, skus do
          order[i] = ARGV[at]
          available[ARGV[at]] = tonumber(ARGV[at + 1])
          at = at + 2
        end
        local committed = {}
        for i = 1, ntokens do
          committed[ARGV[at]] = true
          at = at + 1
        end
        local inflight, unreleased, shopperExtra = {}, {}, {}
        for _, token in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
          if not committed[token] then
            local record = redis.call('HMGET', prefix .. 'idem:' .. token, 'sku', 'quantity', 'shopper')
            if record[1] and available[record[1]] then
              local units = tonumber(record[2])
              inflight[record[1]] = (inflight[record[1]] or 0) + units
              local who = record[3] .. ':' .. record[1]
              shopperExtra[who] = (shopperExtra[who] or 0) + units
            end
          end
        end
        for i = 1, nreleases do
          local orderID, sku, shopper, units = ARGV[at], ARGV[at + 1], ARGV[at + 2], tonumber(ARGV[at + 3])
          at = at + 4
          if redis.call('EXISTS', prefix .. 'released:' .. orderID) == 0 then
            unreleased[sku] = (unreleased[sku] or 0) + units
            local who = shopper .. ':' .. sku
            shopperExtra[who] = (shopperExtra[who] or 0) + units
          end
        end
        local answer = {}
        for i, sku in ipairs(order) do
          local current = redis.call('GET', KEYS[i + 1])
          local expected = available[sku] - (inflight[sku] or 0) - (unreleased[sku] or 0)
          if expected < 0 then expected = 0 end
          if repair and tonumber(current or '-1') ~= expected then redis.call('SET', KEYS[i + 1], expected) end
          table.insert(answer, tonumber(current or '-1'))
          table.insert(answer, expected)
          table.insert(answer, inflight[sku] or 0)
          table.insert(answer, unreleased[sku] or 0)
        end
        local countsDiffering = 0
        for i = 1, ncounts do
          local shopper, sku, units = ARGV[at], ARGV[at + 1], tonumber(ARGV[at + 2])
          at = at + 3
          local expected = units + (shopperExtra[shopper .. ':' .. sku] or 0)
          local key = KEYS[1 + skus + i]
          if tonumber(redis.call('GET', key) or '0') ~= expected then
            countsDiffering = countsDiffering + 1
            if repair then redis.call('SET', key, expected) end
          end
        end
        table.insert(answer, countsDiffering)
        return answer
        """)
}
