import RedisClient

/// Checks and spends limits in Redis, shared by every instance: one script run per limit.
public struct RedisRateLimiter: Sendable {
    let redis: RedisClient

    public init(redis: RedisClient) {
        self.redis = redis
    }

    /// The key of `limit` for `subject` (a shopper id, an IP address, or the route group).
    /// Each key carries its own hash tag, so the keys spread over a Redis Cluster's slots.
    public static func key(_ limit: RateLimit, subject: String) -> String {
        "fs:rl:{\(limit.name):\(subject)}"
    }

    /// Spends one request of `limit` for `subject`, or says how long to wait.
    public func check(_ limit: RateLimit, subject: String) async throws -> RateLimitDecision {
        let reply = try await redis.run(
            RateLimitScripts.script(for: limit.algorithm), keys: [.string(Self.key(limit, subject: subject))],
            arguments: [.integer(Int64(limit.quota)), .integer(limit.windowMicroseconds), .integer(Int64(limit.effectiveBurst))])
        guard case .array(let values) = reply, values.count == 4,
            case .integer(let allowed) = values[0], case .integer(let remaining) = values[1],
            case .integer(let reset) = values[2], case .integer(let retryAfter) = values[3]
        else { throw RedisError.protocolError("rate limit script answered \(reply)") }
        return RateLimitDecision(
            limit: limit, allowed: allowed == 1, remaining: Int(max(0, remaining)), resetMicroseconds: reset,
            retryAfterMicroseconds: retryAfter)
    }
}
