import RedisClient

/// The shape of a purchase attempt, for measuring the Redis client against redis-benchmark:
/// read the clock, set an idempotency marker, check a per-shopper cap, check and deduct stock,
/// write and clear a ledger entry. One EVALSHA, one round trip, like the real purchase script.
enum PurchaseShapedScript {
    static let source = """
        local now = redis.call('TIME')
        redis.call('SET', KEYS[3], 'pending', 'NX', 'EX', 300)
        local quantity = tonumber(ARGV[2])
        local bought = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
        if bought + quantity > tonumber(ARGV[3]) then return {0, 'purchase_limit'} end
        local stock = tonumber(redis.call('GET', KEYS[1]) or '0')
        if stock < quantity then return {0, 'sold_out'} end
        redis.call('DECRBY', KEYS[1], quantity)
        redis.call('HINCRBY', KEYS[2], ARGV[1], quantity)
        redis.call('ZADD', KEYS[4], now[1], ARGV[1])
        redis.call('ZREM', KEYS[4], ARGV[1])
        return {1, stock - quantity}
        """

    static let stockKey = "fs:{bench}:stock:sku-1"
    static let boughtKey = "fs:{bench}:bought"
    static let ledgerKey = "fs:{bench}:resv"
    static let limit = "1000000000"

    /// The same arguments redis-benchmark sends, with its `__rand_int__` placeholders filled in.
    static func arguments(random: Int) -> (keys: [RedisArgument], arguments: [RedisArgument]) {
        let number = String(random)
        let padded = String(repeating: "0", count: max(0, 12 - number.utf8.count)) + number
        return (
            [.string(stockKey), .string(boughtKey), .string("fs:{bench}:idem:\(padded)"), .string(ledgerKey)],
            [.string("shopper:\(padded)"), "1", .string(limit)]
        )
    }

    /// The redis-benchmark command line arguments after `EVALSHA <sha>`.
    static let benchmarkArguments =
        "4 \(stockKey) \(boughtKey) fs:{bench}:idem:__rand_int__ \(ledgerKey) shopper:__rand_int__ 1 \(limit)"
}
