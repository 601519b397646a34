/// A circuit breaker as a pure state machine: no clock, no lock, no I/O. Callers pass `now` into
/// every method, so tests drive it with made-up instants and no sleeping, and the wrapper that
/// owns it (``BreakerGuardedSender``) decides how it is shared.
///
/// Why: a provider that is down answers every e-mail with a timeout. Without a breaker each job
/// holds a worker slot for the whole request timeout and then retries; with one, after the
/// provider has clearly failed, jobs are turned away at once until a single probe shows it is back.
///
/// Policy (failure ratio over a rolling window, as Resilience4j and Polly do): the breaker opens
/// when, within the last ``Policy/window``, at least ``Policy/minimumCalls`` calls finished and
/// at least ``Policy/failureRatio`` of them failed. A ratio, not a run of consecutive failures,
/// because at 50 e-mails a second a few stray timeouts among many successes say nothing, while
/// the minimum keeps one failure out of one call from opening it in a quiet hour.
///
/// States: closed (calls pass, outcomes counted) → open (calls refused for ``Policy/coolDown``)
/// → half-open (exactly one probe passes; others are refused) → closed when the probe succeeds,
/// open again when it fails. A probe that never reports (its task was cancelled) is replaced by a
/// new one after ``Policy/probeTimeout``.
public struct CircuitBreaker: Sendable {
    public typealias Instant = ContinuousClock.Instant

    public struct Policy: Sendable, Equatable {
        /// How far back outcomes count.
        public var window: Duration
        /// Fewer calls than this in the window never open the breaker.
        public var minimumCalls: Int
        /// Share of failed calls (0...1) in the window that opens the breaker.
        public var failureRatio: Double
        /// How long the breaker stays open before letting a probe through.
        public var coolDown: Duration
        /// How long a probe may stay unanswered before another is let through.
        public var probeTimeout: Duration

        public init(
            window: Duration = .seconds(30), minimumCalls: Int = 10, failureRatio: Double = 0.5,
            coolDown: Duration = .seconds(15), probeTimeout: Duration = .seconds(30)
        ) {
            precondition(window > .zero && minimumCalls >= 1 && failureRatio > 0 && failureRatio <= 1)
            self.window = window
            self.minimumCalls = minimumCalls
            self.failureRatio = failureRatio
            self.coolDown = coolDown
            self.probeTimeout = probeTimeout
        }
    }

    /// The state, numbered for a metrics gauge (closed 0, open 1, half-open 2).
    public enum State: Int, Sendable, Equatable, CustomStringConvertible {
        case closed = 0
        case open = 1
        case halfOpen = 2

        public var description: String {
            switch self {
            case .closed: "closed"
            case .open: "open"
            case .halfOpen: "half-open"
            }
        }
    }

    /// A change of state, for logs and metrics.
    public struct Transition: Sendable, Equatable, CustomStringConvertible {
        public let from: State
        public let to: State
        /// Why, in a few words ("12 of 20 calls failed in 30 s", "probe succeeded", …).
        public let reason: String

        public var description: String { "circuit breaker \(from) → \(to): \(reason)" }
    }

    /// Proof that a call was let through; hand it back with the call's outcome. It ties the
    /// outcome to the state the call started in, so a slow call from before the breaker opened
    /// cannot close it, and only the probe decides a half-open breaker.
    public struct Ticket: Sendable, Equatable {
        let generation: UInt64
        public let isProbe: Bool
    }

    public enum Decision: Sendable, Equatable {
        case allowed(Ticket)
        /// Refused without calling the provider; try again after this long.
        case rejected(retryAfter: Duration)
    }

    public enum Outcome: Sendable, Equatable {
        case success
        case failure
        /// The call ended without saying anything about the provider (cancelled): a probe slot is freed.
        case ignored
    }

    public let policy: Policy
    public private(set) var state: State = .closed
    /// Bumped at every transition; tickets of an older generation are ignored.
    private var generation: UInt64 = 0
    private var openedUntil: Instant?
    private var probeStartedAt: Instant?
    /// Outcome counts in `bucketCount` slices of the window (a ring), so memory stays constant at any rate.
    private var buckets: [Bucket]
    private static let bucketCount = 10

    private struct Bucket: Sendable {
        var slice: Int64 = .min
        var successes = 0
        var failures = 0
    }

    public init(policy: Policy = Policy()) {
        self.policy = policy
        buckets = Array(repeating: Bucket(), count: Self.bucketCount)
    }

    /// Asks to make a call at `now`. May move open → half-open (the transition is returned).
    public mutating func acquire(now: Instant) -> (Decision, Transition?) {
        switch state {
        case .closed:
            return (.allowed(Ticket(generation: generation, isProbe: false)), nil)
        case .open:
            let until = openedUntil ?? now
            guard now >= until else { return (.rejected(retryAfter: until - now), nil) }
            let transition = move(to: .halfOpen, reason: "cool-down of \(policy.coolDown) over, probing")
            probeStartedAt = now
            return (.allowed(Ticket(generation: generation, isProbe: true)), transition)
        case .halfOpen:
            if let started = probeStartedAt, now - started < policy.probeTimeout {
                // Come back when the probe must have answered; by then it has closed or re-opened.
                return (.rejected(retryAfter: min(policy.probeTimeout - (now - started), policy.coolDown)), nil)
            }
            probeStartedAt = now
            return (.allowed(Ticket(generation: generation, isProbe: true)), nil)
        }
    }

    /// Reports how the call of `ticket` ended. Returns the transition it caused, if any.
    public mutating func record(_ outcome: Outcome, ticket: Ticket, now: Instant) -> Transition? {
        guard ticket.generation == generation else { return nil }  // started before the last transition
        switch state {
        case .open:
            return nil
        case .halfOpen:
            guard ticket.isProbe else { return nil }
            switch outcome {
            case .success:
                return move(to: .closed, reason: "probe succeeded")
            case .failure:
                openedUntil = now + policy.coolDown
                return move(to: .open, reason: "probe failed")
            case .ignored:
                probeStartedAt = nil
                return nil
            }
        case .closed:
            guard outcome != .ignored else { return nil }
            let slice = self.slice(of: now)
            let index = Int(UInt64(bitPattern: slice) % UInt64(Self.bucketCount))
            if buckets[index].slice != slice { buckets[index] = Bucket(slice: slice) }
            if outcome == .success { buckets[index].successes += 1 } else { buckets[index].failures += 1 }
            let (calls, failures) = counts(at: slice)
            guard calls >= policy.minimumCalls, Double(failures) >= policy.failureRatio * Double(calls) else {
                return nil
            }
            openedUntil = now + policy.coolDown
            return move(to: .open, reason: "\(failures) of \(calls) calls failed within \(policy.window)")
        }
    }

    /// How long until an open breaker lets a probe through (zero when not open).
    public func remainingCoolDown(now: Instant) -> Duration {
        guard state == .open, let openedUntil, openedUntil > now else { return .zero }
        return openedUntil - now
    }

    private mutating func move(to next: State, reason: String) -> Transition {
        let transition = Transition(from: state, to: next, reason: reason)
        state = next
        generation &+= 1
        probeStartedAt = nil
        if next != .open { openedUntil = nil }
        if next == .closed || next == .open {
            buckets = Array(repeating: Bucket(), count: Self.bucketCount)  // a fresh start either way
        }
        return transition
    }

    /// Which slice of the window `now` falls in, counted from an arbitrary but fixed origin.
    private func slice(of now: Instant) -> Int64 {
        let sliceLength = policy.window / Self.bucketCount
        let sinceOrigin = now - Self.origin
        return Int64((sinceOrigin / sliceLength).rounded(.down))
    }

    private func counts(at slice: Int64) -> (calls: Int, failures: Int) {
        var calls = 0
        var failures = 0
        for bucket in buckets where bucket.slice > slice - Int64(Self.bucketCount) && bucket.slice <= slice {
            calls += bucket.successes + bucket.failures
            failures += bucket.failures
        }
        return (calls, failures)
    }

    private static let origin = ContinuousClock.Instant.now
}
