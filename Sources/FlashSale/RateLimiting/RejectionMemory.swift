import Synchronization

/// The in-process limiter in front of Redis: a refusal Redis gave for a key is remembered until
/// its retry time, and the key's requests until then are refused here, without a round trip. A
/// bot sending a thousand requests a second reaches Redis about once per `Retry-After` per
/// instance. Redis would refuse them too: its budget does not refill before that time.
public final class RejectionMemory: Sendable {
    private struct Entry {
        let until: ContinuousClock.Instant
        let decision: RateLimitDecision
    }

    private let entries = Mutex<[String: Entry]>([:])
    /// Keys remembered at most; past it, expired entries are dropped, and new ones are not kept
    /// while none has expired (Redis still refuses them, one round trip each).
    let capacity: Int

    public init(capacity: Int = 100_000) {
        self.capacity = capacity
    }

    /// The refusal still standing for `key`, its times counted down to `now`.
    public func refusal(for key: String, now: ContinuousClock.Instant = .now) -> RateLimitDecision? {
        guard let entry = entries.withLock({ $0[key] }), entry.until > now else { return nil }
        let left = entry.until - now
        let leftMicroseconds = left.components.seconds * 1_000_000 + left.components.attoseconds / 1_000_000_000_000
        var decision = entry.decision
        let elapsed = decision.retryAfterMicroseconds - leftMicroseconds
        decision.retryAfterMicroseconds = leftMicroseconds
        decision.resetMicroseconds = max(leftMicroseconds, decision.resetMicroseconds - elapsed)
        return decision
    }

    /// Remembers a refusal Redis gave at `now`.
    public func remember(_ decision: RateLimitDecision, for key: String, now: ContinuousClock.Instant = .now) {
        guard !decision.allowed, decision.retryAfterMicroseconds > 0 else { return }
        let entry = Entry(until: now + .microseconds(decision.retryAfterMicroseconds), decision: decision)
        entries.withLock { entries in
            if entries.count >= capacity && entries[key] == nil {
                entries = entries.filter { $0.value.until > now }
                guard entries.count < capacity else { return }
            }
            entries[key] = entry
        }
    }

    public var count: Int { entries.withLock { $0.count } }
}
