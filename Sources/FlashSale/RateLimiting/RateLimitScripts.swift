import RedisClient

/// The three algorithms of ``RateLimit/Algorithm``, each one script over one key, so a limit is
/// checked and spent atomically in one round trip, and every key can live in its own Redis
/// Cluster slot. Time comes from `redis.call('TIME')`, never from a caller, so instances with
/// skewed clocks share one budget.
///
/// KEYS[1]: the limit's key. ARGV: quota, window µs, burst.
/// Each answers `{allowed 0|1, remaining, reset µs, retry after µs}`; a refusal changes nothing.
enum RateLimitScripts {
    static func script(for algorithm: RateLimit.Algorithm) -> RedisScript {
        switch algorithm {
        case .tokenBucket: tokenBucket
        case .gcra: gcra
        case .slidingWindow: slidingWindow
        }
    }

    /// A hash `tokens`, `ts` (µs): `burst` tokens at most, refilled at quota per window.
    static let tokenBucket = RedisScript(
        """
        local clock = redis.call('TIME')
        local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
        local quota, window, burst = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
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
        """
    )

    /// A string: the theoretical arrival time (µs) of the next request at the steady rate.
    static let gcra = RedisScript(
        """
        local clock = redis.call('TIME')
        local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
        local quota, window, burst = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
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
        """
    )

    /// A hash: window index → requests counted in it. This window's count plus the previous one's,
    /// weighted by how much of it still overlaps the sliding window, must stay within the quota.
    static let slidingWindow = RedisScript(
        """
        local clock = redis.call('TIME')
        local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
        local quota, window = tonumber(ARGV[1]), tonumber(ARGV[2])
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
        """
    )
}
