import RedisClient

/// The three algorithms of ``RateLimit/Algorithm``, each one script, so a limit is checked and
/// spent atomically in one round trip. Time comes from `redis.call('TIME')`, never from a caller,
/// so instances with skewed clocks share one budget. The keys of one subject share a hash tag
/// (``RedisRateLimiter/keys(_:subject:)``), so a script's keys sit in one Redis Cluster slot.
///
/// Around the algorithm, the same steps for all three: a blocked subject is refused at once;
/// each refusal is a strike, and `strikes` of them within `strike window` block the subject for
/// `block` (every limit of every instance refuses it then).
///
/// KEYS: the limit's state, the subject's block, its strikes.
/// ARGV: quota, window µs, burst, strikes (0: never block), strike window µs, block µs.
/// Answers `{allowed 0|1, remaining, reset µs, retry after µs, block}`, block being 0 (none),
/// 1 (blocked before) or 2 (blocked by this refusal). A refusal leaves the limit's state as it was.
enum RateLimitScripts {
    static func script(for algorithm: RateLimit.Algorithm) -> RedisScript {
        switch algorithm {
        case .tokenBucket: tokenBucket
        case .gcra: gcra
        case .slidingWindow: slidingWindow
        }
    }

    /// `strike(now, count, strikes, within µs, block µs)`: adds `count` strikes to the subject
    /// (KEYS[2] its block, KEYS[3] its strikes); answers the block's ms when they block it.
    private static let strikeFunction = """
        local function strike(now, count, strikes, within, block)
          local total = redis.call('INCRBY', KEYS[3], count)
          if redis.call('PTTL', KEYS[3]) < 0 then redis.call('PEXPIRE', KEYS[3], math.ceil(within / 1000)) end
          if total < strikes then return 0 end
          local ms = math.ceil(block / 1000)
          redis.call('SET', KEYS[2], string.format('%.0f', now), 'PX', ms)
          redis.call('DEL', KEYS[3])
          return ms
        end

        """

    /// `limit(now, quota, window, burst)` is defined before this runs.
    private static let checkBlockStrike = """

        local clock = redis.call('TIME')
        local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
        local blocked = redis.call('PTTL', KEYS[2])
        if blocked > 0 then return {0, 0, blocked * 1000, blocked * 1000, 1} end
        local result = limit(now, tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]))
        result[5] = 0
        if result[1] == 0 and tonumber(ARGV[4]) > 0 then
          local ms = strike(now, 1, tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]))
          if ms > 0 then return {0, 0, ms * 1000, ms * 1000, 2} end
        end
        return result
        """

    /// Refusals answered from memory, reported in a batch, so that a client hammering on after its
    /// 429 still gets blocked. KEYS: block, strikes (KEYS[1] unused, for the same layout).
    /// ARGV: count, strikes, strike window µs, block µs. Answers `{block ms left, block}` as above
    /// (`{0, 0}`: not blocked).
    static let strike = RedisScript(
        strikeFunction
            + """
            local clock = redis.call('TIME')
            local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
            local blocked = redis.call('PTTL', KEYS[2])
            if blocked > 0 then return {blocked, 1} end
            local ms = strike(now, tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]))
            if ms > 0 then return {ms, 2} end
            return {0, 0}
            """
    )

    /// A hash `tokens`, `ts` (µs): `burst` tokens at most, refilled at quota per window.
    static let tokenBucket = RedisScript(
        strikeFunction + """
            local function limit(now, quota, window, burst)
              local per_us = quota / window
              local bucket = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
              local tokens, ts = tonumber(bucket[1]), tonumber(bucket[2])
              if tokens == nil or ts == nil then tokens, ts = burst, now end
              if now > ts then tokens = math.min(burst, tokens + (now - ts) * per_us) end
              if tokens < 1 then
                return {0, 0, math.ceil((burst - tokens) / per_us), math.ceil((1 - tokens) / per_us)}
              end
              tokens = tokens - 1
              redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', string.format('%.0f', now))
              local full = math.ceil((burst - tokens) / per_us)
              redis.call('PEXPIRE', KEYS[1], math.ceil(full / 1000) + 1000)
              return {1, math.floor(tokens), full, 0}
            end
            """ + checkBlockStrike
    )

    /// A string: the theoretical arrival time (µs) of the next request at the steady rate.
    static let gcra = RedisScript(
        strikeFunction + """
            local function limit(now, quota, window, burst)
              local interval = window / quota
              local tat = tonumber(redis.call('GET', KEYS[1])) or now
              if tat < now then tat = now end
              local next_tat = tat + interval
              local allow_at = next_tat - interval * burst
              if now < allow_at then
                return {0, 0, math.ceil(tat - now), math.ceil(allow_at - now)}
              end
              redis.call('SET', KEYS[1], string.format('%.0f', next_tat), 'PX', math.ceil((next_tat - now) / 1000) + 1000)
              return {1, math.floor((now - allow_at) / interval), math.ceil(next_tat - now), 0}
            end
            """ + checkBlockStrike
    )

    /// A hash: window index → requests counted in it. This window's count plus the previous one's,
    /// weighted by how much of it still overlaps the sliding window, must stay within the quota.
    static let slidingWindow = RedisScript(
        strikeFunction + """
            local function limit(now, quota, window, burst)
              local current = math.floor(now / window)
              local elapsed = now - current * window
              local field = string.format('%.0f', current)
              local counts = redis.call('HMGET', KEYS[1], field, string.format('%.0f', current - 1))
              local this, previous = tonumber(counts[1]) or 0, tonumber(counts[2]) or 0
              local estimate = previous * (window - elapsed) / window + this
              if estimate + 1 > quota then
                local wait
                if this + 1 > quota then
                  -- Next window: `this` becomes the previous count and must fade until one more fits.
                  wait = window - elapsed + math.max(0, window - (quota - 1) * window / this)
                else
                  wait = window - elapsed - (quota - this - 1) * window / previous
                end
                return {0, 0, window - elapsed + window, math.ceil(wait)}
              end
              redis.call('HINCRBY', KEYS[1], field, 1)
              redis.call('HDEL', KEYS[1], string.format('%.0f', current - 2))
              redis.call('PEXPIRE', KEYS[1], math.ceil(2 * window / 1000) + 1000)
              return {1, math.floor(quota - estimate - 1), window - elapsed + window, 0}
            end
            """ + checkBlockStrike
    )
}
