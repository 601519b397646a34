import FlashSale
import Logging
import RedisClient

/// Every rate limit of the service, in front of Redis: the policy, the shared budgets in Redis,
/// and the refusals remembered in this process.
public struct RateLimiter: Sendable {
    public let policy: RateLimitPolicy
    public let trustedProxies: TrustedProxies
    let redis: RedisRateLimiter
    let memory: RejectionMemory
    let logger: Logger

    public init(
        policy: RateLimitPolicy, trustedProxies: TrustedProxies = .none, redis: RedisClient,
        memory: RejectionMemory = RejectionMemory(), logger: Logger
    ) {
        self.policy = policy
        self.trustedProxies = trustedProxies
        self.redis = RedisRateLimiter(redis: redis)
        self.memory = memory
        self.logger = logger
    }

    /// One request of `limit` for `subject`: refused from memory while an earlier refusal stands,
    /// otherwise checked in Redis. When Redis cannot answer, the request passes: a limit is a
    /// guard for the stores, and the routes behind it meet the same outage and answer 503.
    func check(_ limit: RateLimit, subject: String) async -> RateLimitDecision? {
        let key = RedisRateLimiter.key(limit, subject: subject)
        if let refusal = memory.refusal(for: key) { return refusal }
        do {
            let decision = try await redis.check(limit, subject: subject)
            memory.remember(decision, for: key)
            return decision
        } catch {
            logger.warning("rate limit not checked", metadata: ["limit": "\(limit.name)", "error": "\(error)"])
            return nil
        }
    }
}
