import RedisClient

/// The rate-limit check of ``EmailRateLimiter``, atomic in Redis so every worker process shares
/// one budget. Time comes from `redis.call('TIME')`, never from a caller, so workers on machines
/// with skewed clocks still agree.
///
/// Two mechanisms, checked together; a permit is taken from all of them or from none:
/// - a token bucket (`KEYS[1]`, hash `tokens`, `ts` in µs): `burst` permits at most at once,
///   refilled at `rate` per second;
/// - sliding windows (`KEYS[2…]`, one hash each, slice index → sends in that slice): no window of
///   `span` µs may hold more than `limit` sends. The sends of every slice that overlaps the window
///   count whole, so the check errs on the safe side by at most one slice.
///   When a window is full, the wait is exactly until enough of its oldest slices have left it.
///
/// ARGV: rate, burst, then per window `span µs`, `slice µs`, `limit` (in `KEYS` order).
/// Answers `{1, 0, now µs}` when a permit was taken, `{0, wait µs, now µs}` when none was.
enum EmailRateLimitScript {
    static let script = RedisScript(
        """
        local clock = redis.call('TIME')
        local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
        local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
        local wait = 0
        local bucket = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
        local tokens, ts = tonumber(bucket[1]), tonumber(bucket[2])
        if tokens == nil or ts == nil then tokens, ts = burst, now end
        if now > ts then tokens = math.min(burst, tokens + (now - ts) * rate / 1000000) end
        if tokens < 1 then wait = math.ceil((1 - tokens) * 1000000 / rate) end
        local current = {}
        for i = 2, #KEYS do
          local at = 3 + (i - 2) * 3
          local span, slice, limit = tonumber(ARGV[at]), tonumber(ARGV[at + 1]), tonumber(ARGV[at + 2])
          current[i] = math.floor(now / slice)
          local first = math.floor((now - span) / slice)
          local flat = redis.call('HGETALL', KEYS[i])
          local live, stale, total = {}, {}, 0
          for j = 1, #flat, 2 do
            local index, count = tonumber(flat[j]), tonumber(flat[j + 1])
            if index < first then
              stale[#stale + 1] = flat[j]
            else
              live[#live + 1] = {index, count}
              total = total + count
            end
          end
          if #stale > 0 then redis.call('HDEL', KEYS[i], unpack(stale)) end
          if total >= limit then
            table.sort(live, function(a, b) return a[1] < b[1] end)
            local excess = total - limit + 1
            for _, entry in ipairs(live) do
              excess = excess - entry[2]
              if excess <= 0 then
                local free = (entry[1] + 1) * slice + span - now
                if free > wait then wait = free end
                break
              end
            end
          end
        end
        if wait > 0 then return {0, math.ceil(wait), now} end
        redis.call('HSET', KEYS[1], 'tokens', tostring(tokens - 1), 'ts', string.format('%.0f', now))
        redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
        for i = 2, #KEYS do
          local at = 3 + (i - 2) * 3
          redis.call('HINCRBY', KEYS[i], string.format('%.0f', current[i]), 1)
          redis.call('PEXPIRE', KEYS[i], math.ceil((tonumber(ARGV[at]) + tonumber(ARGV[at + 1])) / 1000) + 1000)
        end
        return {1, 0, now}
        """
    )
}
