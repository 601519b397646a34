import RedisClient

/// The two Redis steps of comparing (and with mode `repair`, rewriting) a batch of a sale's SKUs,
/// with PostgreSQL read between them. What the repair writes is PostgreSQL's figures adjusted by
/// the reservation ledger, so the ledger and PostgreSQL must describe the same units: `readings`
/// takes the ledger together with each SKU's change count (`RedisKeys.changes`), and `judge` goes on
/// only for SKUs whose change count is still the same. Then no purchase, compensation or release
/// touched the SKU in between, and an order that committed meanwhile had its units in the ledger
/// read (if PostgreSQL did not have it yet) or in PostgreSQL (if it did): counted exactly once. An
/// entry leaving the ledger after its commit changes neither stock nor counts, so the ledger as read
/// is the one that counts, not the one `judge` would find.
enum ReconcileScript {
    /// KEYS: ledger, then one change-count key per SKU.
    /// Answers the ledger's members and the change counts (0 for a missing key), as one instant.
    static let readings = RedisScript(
        """
        local counts = {}
        for i = 2, #KEYS do counts[i - 1] = tonumber(redis.call('GET', KEYS[i]) or '0') end
        return {redis.call('ZRANGE', KEYS[1], 0, -1), counts}
        """)

    /// Compares a SKU's Redis stock and its shoppers' counts with what they should be and, in mode
    /// `repair`, sets the ones that differ; all of it only where the SKU's change count is the one
    /// `readings` saw. Runs atomically, so the check and the writes are one instant for every
    /// purchase script.
    ///
    /// The expected Redis stock of a SKU is PostgreSQL's `available`, minus units reserved in Redis
    /// whose order has not committed (ledger entries read that PostgreSQL did not have), minus units
    /// of cancelled orders whose Redis release has not run yet (no released marker): those releases
    /// will still add their units.
    ///
    /// The idempotency records and release markers read here are keys of the same sale (one hash
    /// tag, so one cluster slot), built from ARGV[2].
    /// KEYS: one stock key per SKU, one change-count key per SKU, then one bought key per count.
    /// ARGV: mode, key prefix, SKU count, token count, release count, count count, then
    /// SKU × (sku, available, change count read), token × ledger member PostgreSQL did not have,
    /// release × (order, sku, shopper, quantity), count × (shopper, sku, units ordered).
    /// Answers per SKU: judged (1, or 0 when it changed), Redis value or -1, expected, in checkout,
    /// releases pending, per-shopper counts that differed.
    static let judge = RedisScript(
        """
        local repair = ARGV[1] == 'repair'
        local prefix = ARGV[2]
        local skus, ntokens, nreleases, ncounts = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
        local at = 7
        local order, available, unchanged = {}, {}, {}
        for i = 1, skus do
          local sku = ARGV[at]
          order[i] = sku
          available[sku] = tonumber(ARGV[at + 1])
          unchanged[sku] = tonumber(redis.call('GET', KEYS[skus + i]) or '0') == tonumber(ARGV[at + 2])
          at = at + 3
        end
        local inflight, unreleased, shopperExtra, countsDiffering = {}, {}, {}, {}
        for i = 1, ntokens do
          local record = redis.call('HMGET', prefix .. 'idem:' .. ARGV[at], 'sku', 'quantity', 'shopper')
          at = at + 1
          if record[1] and unchanged[record[1]] then
            local units = tonumber(record[2])
            inflight[record[1]] = (inflight[record[1]] or 0) + units
            local who = record[3] .. ':' .. record[1]
            shopperExtra[who] = (shopperExtra[who] or 0) + units
          end
        end
        for i = 1, nreleases do
          local orderID, sku, shopper, units = ARGV[at], ARGV[at + 1], ARGV[at + 2], tonumber(ARGV[at + 3])
          at = at + 4
          if unchanged[sku] and redis.call('EXISTS', prefix .. 'released:' .. orderID) == 0 then
            unreleased[sku] = (unreleased[sku] or 0) + units
            local who = shopper .. ':' .. sku
            shopperExtra[who] = (shopperExtra[who] or 0) + units
          end
        end
        for i = 1, ncounts do
          local shopper, sku, units = ARGV[at], ARGV[at + 1], tonumber(ARGV[at + 2])
          at = at + 3
          if unchanged[sku] then
            local expected = units + (shopperExtra[shopper .. ':' .. sku] or 0)
            local key = KEYS[2 * skus + i]
            if tonumber(redis.call('GET', key) or '0') ~= expected then
              countsDiffering[sku] = (countsDiffering[sku] or 0) + 1
              if repair then redis.call('SET', key, expected) end
            end
          end
        end
        local answer = {}
        for i, sku in ipairs(order) do
          if unchanged[sku] then
            local current = tonumber(redis.call('GET', KEYS[i]) or '-1')
            local expected = available[sku] - (inflight[sku] or 0) - (unreleased[sku] or 0)
            if expected < 0 then expected = 0 end
            if repair and current ~= expected then redis.call('SET', KEYS[i], expected) end
            for _, value in ipairs({1, current, expected, inflight[sku] or 0, unreleased[sku] or 0, countsDiffering[sku] or 0}) do
              table.insert(answer, value)
            end
          else
            for _ = 1, 6 do table.insert(answer, 0) end
          end
        end
        return answer
        """)
}
