import RedisClient

/// The Lua scripts that change stock in Redis. Each runs atomically in one round trip and takes
/// time from the server (`TIME`), never from the caller.
///
/// The shebang lines tell a Redis at `maxmemory` (noeviction) what to refuse. A purchase attempt
/// (`#!lua`, no flags) is refused whole before it writes anything, and the shopper hears 503; a
/// flagless script would be refused only at its first memory-growing command, and one that
/// begins with a DEL (as `reserve` does) not at all. Scripts that settle what was already promised
/// (an order's final answer, units given back) run even then: they mostly free memory, and
/// refusing them would leave a committed order's token answering 409 request_in_progress.
enum StockScripts {
    /// A purchase attempt. KEYS: token, idempotency record, shopper's bought count, stock, ledger,
    /// the SKU's change count, its repair fence.
    /// ARGV: shopper, quantity, per-shopper limit, request fingerprint, ledger member, record TTL, sku.
    /// The token is consumed (deleted) on its first use; later uses are answered from the record.
    /// A winner bumps the change count (the repair's compare-and-set); while a repair fences the
    /// SKU, a would-be winner is answered `not_stocked` and keeps its token, so its retry can win.
    /// `won` and `sold_out` carry the stock left and the change count (``SoldOutSKUs`` keeps them).
    static let reserve = RedisScript(
        """
        #!lua
        local owner = redis.call('GET', KEYS[1])
        if not owner then
          local record = redis.call('HMGET', KEYS[2], 'shopper', 'fingerprint', 'state', 'outcome', 'body')
          if not record[1] or record[1] ~= ARGV[1] then return {'invalid_token'} end
          if record[2] ~= ARGV[4] then return {'key_reused'} end
          if record[3] == 'pending' then return {'in_progress'} end
          return {'replay', record[4], record[5] or ''}
        end
        if owner ~= ARGV[1] then return {'invalid_token'} end
        local stockAndFence = redis.call('MGET', KEYS[4], KEYS[7])
        local stock = stockAndFence[1]
        if not stock then return {'not_stocked'} end
        local quantity = tonumber(ARGV[2])
        local outcome = nil
        if tonumber(redis.call('GET', KEYS[3]) or '0') + quantity > tonumber(ARGV[3]) then
          outcome = 'purchase_limit'
        elseif tonumber(stock) < quantity then
          outcome = 'sold_out'
        end
        if outcome then
          redis.call('DEL', KEYS[1])
          redis.call('HSET', KEYS[2], 'shopper', ARGV[1], 'fingerprint', ARGV[4], 'state', 'done', 'outcome', outcome)
          redis.call('EXPIRE', KEYS[2], ARGV[6])
          if outcome == 'sold_out' then
            return {outcome, tonumber(stock), tonumber(redis.call('GET', KEYS[6]) or '0')}
          end
          return {outcome}
        end
        if stockAndFence[2] then return {'not_stocked'} end
        redis.call('DEL', KEYS[1])
        local remaining = redis.call('DECRBY', KEYS[4], quantity)
        redis.call('INCRBY', KEYS[3], quantity)
        local version = redis.call('INCR', KEYS[6])
        redis.call('ZADD', KEYS[5], redis.call('TIME')[1], ARGV[5])
        redis.call('HSET', KEYS[2], 'shopper', ARGV[1], 'fingerprint', ARGV[4], 'state', 'pending',
          'sku', ARGV[7], 'quantity', quantity)
        redis.call('EXPIRE', KEYS[2], ARGV[6])
        return {'won', remaining, version}
        """)

    /// After the order committed: store the response for replays, drop the ledger entry.
    /// KEYS: idempotency record, ledger. ARGV: response body, ledger member.
    static let finalize = RedisScript(
        """
        #!lua flags=allow-oom
        redis.call('HSET', KEYS[1], 'state', 'done', 'outcome', 'created', 'body', ARGV[1])
        redis.call('ZREM', KEYS[2], ARGV[2])
        return 1
        """)

    /// The order never committed: give the stock and the shopper's count back, once. Removing the
    /// ledger entry is the guard, so this and the worker's sweep cannot both give it back.
    /// KEYS: idempotency record, ledger, stock, bought, the SKU's change count. ARGV: ledger member, quantity.
    static let compensate = RedisScript(
        """
        #!lua flags=allow-oom
        if redis.call('ZREM', KEYS[2], ARGV[1]) == 0 then return 0 end
        redis.call('INCR', KEYS[5])
        redis.call('INCRBY', KEYS[3], ARGV[2])
        if redis.call('DECRBY', KEYS[4], ARGV[2]) <= 0 then redis.call('DEL', KEYS[4]) end
        redis.call('HSET', KEYS[1], 'state', 'done', 'outcome', 'unavailable')
        return 1
        """)

    /// A cancelled or expired order's stock goes back, once per order (the marker is the guard).
    /// KEYS: released marker, stock, bought, the SKU's change count. ARGV: quantity, marker TTL.
    static let release = RedisScript(
        """
        #!lua flags=allow-oom
        if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[2]) then return 0 end
        redis.call('INCR', KEYS[4])
        if redis.call('EXISTS', KEYS[2]) == 1 then redis.call('INCRBY', KEYS[2], ARGV[1]) end
        if redis.call('DECRBY', KEYS[3], ARGV[1]) <= 0 then redis.call('DEL', KEYS[3]) end
        return 1
        """)
}
