import CircuitBreaking
import Logging
import RedisClient
import Synchronization

/// A circuit breaker in front of one store or service the requests depend on (Redis, PostgreSQL,
/// the payment gateway). When most recent calls failed, calls are refused at once
/// (``DependencyUnavailable``, answered 503 with `Retry-After`) instead of each waiting for its
/// own timeout; after a cool-down one probe goes through, and its success closes the breaker.
/// Transitions are logged and handed to `onTransition` (the `/metrics` gauge).
public final class DependencyBreaker: Sendable {
    public let dependency: String
    private let breaker: Mutex<CircuitBreaker>
    private let logger: Logger
    private let onTransition: @Sendable (CircuitBreaker.State) -> Void

    public init(
        _ dependency: String, policy: CircuitBreaker.Policy, logger: Logger,
        onTransition: @escaping @Sendable (CircuitBreaker.State) -> Void = { _ in }
    ) {
        self.dependency = dependency
        breaker = Mutex(CircuitBreaker(policy: policy))
        self.logger = logger
        self.onTransition = onTransition
    }

    public var state: CircuitBreaker.State { breaker.withLock { $0.state } }

    /// While the breaker is open and cooling down: how long until it lets a probe through. Takes
    /// no probe slot, so a caller can look before it commits to work it could not undo.
    public func refusal(now: ContinuousClock.Instant = .now) -> DependencyUnavailable? {
        let remaining = breaker.withLock { $0.remainingCoolDown(now: now) }
        return remaining > .zero ? DependencyUnavailable(dependency: dependency, retryAfter: remaining) : nil
    }

    /// Runs `body` unless the breaker refuses it. Errors for which `isFailure` is true count
    /// against the dependency; other errors, and cancellation, count as answers.
    public func run<T>(
        isFailure: (any Error) -> Bool = { _ in true }, _ body: () async throws -> T
    ) async throws -> T {
        let (decision, opened) = breaker.withLock { $0.acquire(now: .now) }
        report(opened)
        let ticket: CircuitBreaker.Ticket
        switch decision {
        case .allowed(let allowed): ticket = allowed
        case .rejected(let retryAfter): throw DependencyUnavailable(dependency: dependency, retryAfter: retryAfter)
        }
        do {
            let value = try await body()
            report(breaker.withLock { $0.record(.success, ticket: ticket, now: .now) })
            return value
        } catch {
            let outcome: CircuitBreaker.Outcome =
                error is CancellationError ? .ignored : isFailure(error) ? .failure : .success
            report(breaker.withLock { $0.record(outcome, ticket: ticket, now: .now) })
            throw error
        }
    }

    /// `body` through `breaker` when there is one (a breaker is optional wherever it guards a call).
    public static func run<T>(
        _ breaker: DependencyBreaker?, isFailure: (any Error) -> Bool = { _ in true }, _ body: () async throws -> T
    ) async throws -> T {
        guard let breaker else { return try await body() }
        return try await breaker.run(isFailure: isFailure, body)
    }

    private func report(_ transition: CircuitBreaker.Transition?) {
        guard let transition else { return }
        if transition.to == .open {
            logger.error("\(dependency): \(transition)")
        } else {
            logger.notice("\(dependency): \(transition)")
        }
        onTransition(transition.to)
    }
}

/// A dependency's breaker is open: answered 503 with `Retry-After`, without calling it.
public struct DependencyUnavailable: Error, Sendable, Equatable, CustomStringConvertible {
    public let dependency: String
    public let retryAfter: Duration

    public var retryAfterSeconds: Int {
        let (seconds, attoseconds) = retryAfter.components
        return max(1, Int(seconds) + (attoseconds > 0 ? 1 : 0))
    }

    public var description: String { "\(dependency) is failing; its circuit breaker is open for \(retryAfterSeconds) s" }
}

/// The breakers of the service's dependencies, one each, shared by every route.
public struct DependencyBreakers: Sendable {
    public let redis: DependencyBreaker
    public let postgres: DependencyBreaker
    public let payments: DependencyBreaker

    /// Open when at least half of the last 10 s's calls failed (20 at least), for 5 s at a time.
    public static let defaultPolicy = CircuitBreaker.Policy(
        window: .seconds(10), minimumCalls: 20, failureRatio: 0.5, coolDown: .seconds(5), probeTimeout: .seconds(10))

    public init(
        policy: CircuitBreaker.Policy = Self.defaultPolicy, logger: Logger,
        onTransition: @escaping @Sendable (String, CircuitBreaker.State) -> Void = { _, _ in }
    ) {
        redis = DependencyBreaker("redis", policy: policy, logger: logger) { onTransition("redis", $0) }
        postgres = DependencyBreaker("postgres", policy: policy, logger: logger) { onTransition("postgres", $0) }
        payments = DependencyBreaker("payment_gateway", policy: policy, logger: logger) { onTransition("payment_gateway", $0) }
    }
}

extension RedisError {
    /// Redis did not answer (down, unreachable, too slow), as opposed to answering with an error:
    /// only the former counts against its breaker.
    public static func isOutage(_ error: any Error) -> Bool {
        guard let error = error as? RedisError else { return true }
        if case .server = error { return false }
        return true
    }
}
