import FlashSale
import Logging
import Metrics
import RedisClient

/// Every rate limit of the service, in front of Redis: the policy, the shared budgets in Redis,
/// and the refusals remembered in this process.
public struct RateLimiter: Sendable {
    public let policy: RateLimitPolicy
    public let trustedProxies: TrustedProxies
    /// Client addresses never limited (internal callers).
    public let allowList: IPRanges
    let redis: RedisRateLimiter
    let memory: RejectionMemory
    let logger: Logger
    private let refusals: RefusalCounters

    public init(
        policy: RateLimitPolicy, trustedProxies: TrustedProxies = .none, allowList: IPRanges = .none,
        redis: RedisClient, memory: RejectionMemory = RejectionMemory(), logger: Logger
    ) {
        self.policy = policy
        self.trustedProxies = trustedProxies
        self.allowList = allowList
        self.redis = RedisRateLimiter(redis: redis)
        self.memory = memory
        self.logger = logger
        refusals = RefusalCounters(policy: policy)
    }

    /// How long a block is answered from memory before Redis is asked again: an operator who
    /// lifts one (`flashsale blocks lift`) sees every instance let the client in within this.
    static let blockRecheck = Duration.seconds(5)

    /// One request of `limit` for `subject`: refused from memory while an earlier refusal or a
    /// block stands, otherwise checked in Redis. When Redis cannot answer, the request passes: a
    /// limit is a guard for the stores, and the routes behind it meet the same outage and answer 503.
    func check(_ limit: RateLimit, subject: String) async -> RateLimitDecision? {
        let keys = RedisRateLimiter.keys(limit, subject: subject)
        if var blocked = memory.refusal(for: keys.block) {
            blocked.limit = limit
            return counted(blocked)
        }
        if let (refusal, strikes) = memory.refusal(for: keys.limit, reportingEvery: Self.strikeReport) {
            guard strikes > 0, let blocking = policy.blocking else { return counted(refusal) }
            // The client keeps coming after its 429: tell Redis, which may block it everywhere.
            let block = try? await redis.strike(limit, subject: subject, count: strikes, blocking: blocking)
            guard let block else { return counted(refusal) }
            return counted(blocked(block, keys: keys, subject: subject))
        }
        let decision: RateLimitDecision
        do {
            decision = try await redis.check(limit, subject: subject, blocking: policy.blocking)
        } catch {
            logger.warning("rate limit not checked", metadata: ["limit": "\(limit.name)", "error": "\(error)"])
            return nil
        }
        if decision.allowed { return decision }
        guard decision.block == .none else { return counted(blocked(decision, keys: keys, subject: subject)) }
        memory.remember(decision, for: keys.limit)
        return counted(decision)
    }

    /// Refusals answered from memory are reported to Redis as strikes this many at a time.
    static let strikeReport = 5

    /// A block Redis reported: remembered, and logged and counted when it is new.
    private func blocked(_ decision: RateLimitDecision, keys: (limit: String, block: String, strikes: String), subject: String)
        -> RateLimitDecision
    {
        memory.remember(decision, for: keys.block, holdAtMost: Self.blockRecheck)
        if decision.block == .new {
            let limit = decision.limit
            Counter(label: "flashsale_rate_limit_blocks_total", dimensions: [("scope", limit.scope.rawValue)]).increment()
            logger.notice(
                "client blocked after refusal upon refusal",
                metadata: [
                    "subject": "\(limit.scope.rawValue):\(subject)", "limit": "\(limit.name)",
                    "seconds": "\(decision.retryAfterSeconds)",
                ])
        }
        return decision
    }

    private func counted(_ refusal: RateLimitDecision) -> RateLimitDecision {
        refusals.increment(refusal)
        return refusal
    }
}
