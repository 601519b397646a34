import RedisClient

/// Scripts the operator's commands (seed, reconcile) run against a sale's stock keys. Each keeps
/// its check and its writes in one atomic step, so purchases running meanwhile see either side.
enum StockPrimingScripts {
    /// Sets each stock key that does not exist yet. KEYS: stock keys. ARGV: one value per key.
    static let setMissing = RedisScript(
        """
        local set = 0
        for i, key in ipairs(KEYS) do
          if redis.call('SET', key, ARGV[i], 'NX') then set = set + 1 end
        end
        return set
        """)

    /// Adds a delta to each stock key that exists (a missing key is rebuilt from PostgreSQL later).
    /// KEYS: stock keys. ARGV: one delta per key.
    static let adjustExisting = RedisScript(
        """
        for i, key in ipairs(KEYS) do
          if redis.call('EXISTS', key) == 1 then redis.call('INCRBY', key, ARGV[i]) end
        end
        return 1
        """)

    /// Takes units out of stock, all or none, as a purchase would: refused when any key has fewer
    /// unsold units than asked. KEYS: stock keys. ARGV: one amount per key.
    /// Answers 0, or the 1-based index of the first key short of units.
    static let withdraw = RedisScript(
        """
        for i, key in ipairs(KEYS) do
          local units = tonumber(redis.call('GET', key) or '-1')
          if units < tonumber(ARGV[i]) then return i end
        end
        for i, key in ipairs(KEYS) do redis.call('DECRBY', key, ARGV[i]) end
        return 0
        """)
}
