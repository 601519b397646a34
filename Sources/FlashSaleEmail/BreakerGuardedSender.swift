import CircuitBreaking
import Synchronization

/// Puts a ``CircuitBreaker`` in front of another sender (the HTTP provider).
///
/// While the breaker is open, `send` throws `.circuitOpen(retryAfter: remaining cool-down)`` at once, without calling the provider: the job is rescheduled rather than spending
/// a request timeout on a provider known to be down.
///
/// What counts as a failure: `.retryable` errors and errors of unknown kind (timeouts, refused
/// connections, 5xx, 429). A `.permanent` error is a success for the breaker: the provider
/// answered, it just refused that one message. A cancelled call counts as neither.
public final class BreakerGuardedSender: EmailSender {
    private let inner: any EmailSender
    private let breaker: Mutex<CircuitBreaker>
    private let clock: @Sendable () -> ContinuousClock.Instant
    private let onTransition: (@Sendable (CircuitBreaker.Transition) -> Void)?

    /// - Parameters:
    ///   - clock: where `now` comes from; tests pass a fake one to step through cool-downs.
    ///   - onTransition: called after every state change (outside the lock), for a log line and
    ///     the breaker-state gauge. Must not block.
    public init(
        wrapping inner: any EmailSender, policy: CircuitBreaker.Policy = .init(),
        clock: @escaping @Sendable () -> ContinuousClock.Instant = { .now },
        onTransition: (@Sendable (CircuitBreaker.Transition) -> Void)? = nil
    ) {
        self.inner = inner
        self.breaker = Mutex(CircuitBreaker(policy: policy))
        self.clock = clock
        self.onTransition = onTransition
    }

    /// The breaker's current state, for the metrics gauge (``CircuitBreaker/State/rawValue``).
    public var state: CircuitBreaker.State { breaker.withLock { $0.state } }

    /// The rest of the cool-down while the breaker is open; nil once a call would go through.
    public func holdOff() -> Duration? {
        let remaining = breaker.withLock { $0.remainingCoolDown(now: clock()) }
        return remaining > .zero ? remaining : nil
    }

    public func send(_ message: EmailMessage) async throws {
        let (decision, opened) = breaker.withLock { $0.acquire(now: clock()) }
        if let opened { onTransition?(opened) }
        let ticket: CircuitBreaker.Ticket
        switch decision {
        case .allowed(let granted):
            ticket = granted
        case .rejected(let wait):
            throw EmailDeliveryError.circuitOpen(retryAfter: wait)
        }
        let outcome: CircuitBreaker.Outcome
        do {
            try await inner.send(message)
            outcome = .success
        } catch {
            report(Self.outcome(of: error), ticket: ticket)
            throw error
        }
        report(outcome, ticket: ticket)
    }

    private func report(_ outcome: CircuitBreaker.Outcome, ticket: CircuitBreaker.Ticket) {
        let transition = breaker.withLock { $0.record(outcome, ticket: ticket, now: clock()) }
        if let transition { onTransition?(transition) }
    }

    static func outcome(of error: any Error) -> CircuitBreaker.Outcome {
        switch error {
        case EmailDeliveryError.permanent: .success
        case is CancellationError: .ignored
        default: .failure
        }
    }
}
