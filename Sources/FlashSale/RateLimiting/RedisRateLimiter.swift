import RedisClient

/// Checks and spends limits in Redis, shared by every instance: one script run per limit.
public struct RedisRateLimiter: Sendable {
    let redis: RedisClient

    public init(redis: RedisClient) {
        self.redis = redis
    }

    /// The keys of `limit` for `subject` (a shopper id, an IP address, or the route group): its
    /// state, and the subject's block and strikes. They share one hash tag, the subject's, so one
    /// script can touch all three on a Redis Cluster, and subjects spread over its slots.
    public static func keys(_ limit: RateLimit, subject: String) -> (limit: String, block: String, strikes: String) {
        let tag = subjectTag(scope: limit.scope, subject: subject)
        return (tag + ":" + limit.name, tag + ":block", tag + ":strikes")
    }

    static func subjectTag(scope: RateLimit.Scope, subject: String) -> String {
        "fs:rl:{\(scope.rawValue):\(subject)}"
    }

    /// The block and strikes keys of a subject written as `scope:subject` (`client_ip:203.0.113.9`,
    /// `shopper:alice`), as `flashsale blocks` lists them; nil for anything else.
    public static func blockKeys(_ subject: String) -> (block: String, strikes: String)? {
        guard let colon = subject.firstIndex(of: ":"),
            let scope = RateLimit.Scope(rawValue: String(subject[..<colon])), scope != .route
        else { return nil }
        let tag = subjectTag(scope: scope, subject: String(subject[subject.index(after: colon)...]))
        return (tag + ":block", tag + ":strikes")
    }

    /// Adds `count` refusals answered without Redis to `subject`'s strikes. Answers the block
    /// that stands or that they brought, nil when there is none.
    public func strike(_ limit: RateLimit, subject: String, count: Int, blocking: RateLimitPolicy.Blocking) async throws
        -> RateLimitDecision?
    {
        guard limit.scope != .route else { return nil }
        let keys = Self.keys(limit, subject: subject)
        let reply = try await redis.run(
            RateLimitScripts.strike, keys: [.string(keys.limit), .string(keys.block), .string(keys.strikes)],
            arguments: [
                .integer(Int64(count)), .integer(Int64(blocking.strikes)), .integer(Self.micros(blocking.withinSeconds)),
                .integer(Self.micros(blocking.blockSeconds)),
            ])
        guard case .array(let values) = reply, values.count == 2, case .integer(let milliseconds) = values[0],
            case .integer(let block) = values[1]
        else { throw RedisError.protocolError("strike script answered \(reply)") }
        guard block > 0 else { return nil }
        return RateLimitDecision(
            limit: limit, allowed: false, remaining: 0, resetMicroseconds: milliseconds * 1000,
            retryAfterMicroseconds: milliseconds * 1000, block: block == 2 ? .new : .standing)
    }

    static func micros(_ seconds: Double) -> Int64 { Int64((seconds * 1_000_000).rounded()) }

    /// Spends one request of `limit` for `subject`, or says how long to wait. Refusals count as
    /// strikes towards `blocking`, except on route-wide limits (everyone's, no one to block).
    public func check(_ limit: RateLimit, subject: String, blocking: RateLimitPolicy.Blocking? = nil) async throws
        -> RateLimitDecision
    {
        let keys = Self.keys(limit, subject: subject)
        let blocking = limit.scope == .route ? nil : blocking
        let reply = try await redis.run(
            RateLimitScripts.script(for: limit.algorithm),
            keys: [.string(keys.limit), .string(keys.block), .string(keys.strikes)],
            arguments: [
                .integer(Int64(limit.quota)), .integer(limit.windowMicroseconds), .integer(Int64(limit.effectiveBurst)),
                .integer(Int64(blocking?.strikes ?? 0)), .integer(Self.micros(blocking?.withinSeconds ?? 0)),
                .integer(Self.micros(blocking?.blockSeconds ?? 0)),
            ])
        guard case .array(let values) = reply, values.count == 5,
            case .integer(let allowed) = values[0], case .integer(let remaining) = values[1],
            case .integer(let reset) = values[2], case .integer(let retryAfter) = values[3],
            case .integer(let block) = values[4]
        else { throw RedisError.protocolError("rate limit script answered \(reply)") }
        return RateLimitDecision(
            limit: limit, allowed: allowed == 1, remaining: Int(max(0, remaining)), resetMicroseconds: reset,
            retryAfterMicroseconds: retryAfter, block: block == 2 ? .new : block == 1 ? .standing : .none)
    }
}
