import Synchronization

/// The in-process limiter in front of Redis: a refusal Redis gave for a key is remembered until
/// its retry time, and the key's requests until then are refused here, without a round trip. A
/// bot sending a thousand requests a second reaches Redis about once per `Retry-After` per
/// instance. Redis would refuse them too: its budget does not refill before that time.
public final class RejectionMemory: Sendable {
    private struct Entry {
        let decidedAt: ContinuousClock.Instant
        /// Until when it is answered from here: its retry time, or sooner when asked to look again.
        let until: ContinuousClock.Instant
        let decision: RateLimitDecision
        /// Refusals answered from here and not yet counted as strikes in Redis.
        var unreported = 0
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
        refusal(for: key, reportingEvery: 0, now: now)?.decision
    }

    /// The refusal still standing for `key`, counting it as a strike: every `reportingEvery`-th
    /// one answered from here, `strikes` says how many to report to Redis (0 otherwise).
    public func refusal(for key: String, reportingEvery: Int, now: ContinuousClock.Instant = .now)
        -> (decision: RateLimitDecision, strikes: Int)?
    {
        let found: (entry: Entry, strikes: Int)? = entries.withLock { entries in
            guard var entry = entries[key], entry.until > now else { return nil }
            var strikes = 0
            if reportingEvery > 0 {
                entry.unreported += 1
                if entry.unreported >= reportingEvery {
                    strikes = entry.unreported
                    entry.unreported = 0
                }
                entries[key] = entry
            }
            return (entry, strikes)
        }
        guard let (entry, strikes) = found else { return nil }
        let elapsed = (now - entry.decidedAt).components
        let elapsedMicroseconds = elapsed.seconds * 1_000_000 + elapsed.attoseconds / 1_000_000_000_000
        var decision = entry.decision
        decision.retryAfterMicroseconds = max(1, decision.retryAfterMicroseconds - elapsedMicroseconds)
        decision.resetMicroseconds = max(decision.retryAfterMicroseconds, decision.resetMicroseconds - elapsedMicroseconds)
        return (decision, strikes)
    }

    /// Remembers a refusal Redis gave at `now`, until its retry time or for `holdAtMost`, when
    /// sooner (a block an operator may lift is looked up again every few seconds).
    public func remember(
        _ decision: RateLimitDecision, for key: String, holdAtMost: Duration? = nil, now: ContinuousClock.Instant = .now
    ) {
        guard !decision.allowed, decision.retryAfterMicroseconds > 0 else { return }
        let hold = min(Duration.microseconds(decision.retryAfterMicroseconds), holdAtMost ?? .seconds(86_400))
        let entry = Entry(decidedAt: now, until: now + hold, decision: decision)
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
