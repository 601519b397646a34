import FlashSale
import Synchronization

/// A payment gateway for tests. It answers as the sandbox does (`pm_card_ok`, `pm_card_declined`),
/// keeps one outcome per idempotency key as a real gateway does (a key charged again gets the same
/// answer, no second charge) and tells it to `lookup`, and counts every charge request it is sent.
/// It can hold charges open until released, take its time, or lose its answers (a timeout after or
/// before it charged).
public final class TestPaymentGateway: PaymentGateway, Sendable {
    public enum Failure: Sendable {
        case none
        /// Charges, then the answer is lost.
        case timeOutAfterCharging
        /// The request is lost before the gateway acts on it.
        case timeOutBeforeCharging
    }

    public struct TimedOut: Error {}

    private struct State {
        var failure = Failure.none
        var holding = false
        var held: [CheckedContinuation<Void, Never>] = []
        var arrivalWaiters: [(count: Int, continuation: CheckedContinuation<Void, Never>)] = []
        var requests: [ChargeRequest] = []
        var outcomes: [String: PaymentResult] = [:]
        var lookups = 0
    }

    private let state = Mutex(State())
    private let delay: Duration?

    public init(delay: Duration? = nil) {
        self.delay = delay
    }

    /// Every charge request sent, a repeated key included.
    public var chargeRequests: Int { state.withLock { $0.requests.count } }
    /// Keys the card was charged under (each at most once: the gateway deduplicates by key).
    public var cardCharges: Int { state.withLock { $0.outcomes.values.filter { $0 == .succeeded }.count } }
    public var lookups: Int { state.withLock { $0.lookups } }

    public func fail(_ failure: Failure) {
        state.withLock { $0.failure = failure }
    }

    /// Charges wait from now on, until `release()`.
    public func hold() {
        state.withLock { $0.holding = true }
    }

    public func release() {
        let waiting = state.withLock { state in
            state.holding = false
            defer { state.held = [] }
            return state.held
        }
        for continuation in waiting { continuation.resume() }
    }

    /// Returns once `count` charge requests have arrived (held ones included).
    public func untilCharging(_ count: Int) async {
        await withCheckedContinuation { continuation in
            let now = state.withLock { state in
                if state.requests.count >= count { return true }
                state.arrivalWaiters.append((count, continuation))
                return false
            }
            if now { continuation.resume() }
        }
    }

    public func charge(_ charge: ChargeRequest) async throws -> PaymentResult {
        let arrived = state.withLock { state in
            state.requests.append(charge)
            let arrived = state.arrivalWaiters.filter { $0.count <= state.requests.count }.map(\.continuation)
            state.arrivalWaiters.removeAll { $0.count <= state.requests.count }
            return arrived
        }
        for continuation in arrived { continuation.resume() }
        await withCheckedContinuation { continuation in
            let wait = state.withLock { state in
                if state.holding { state.held.append(continuation) }
                return state.holding
            }
            if !wait { continuation.resume() }
        }
        if let delay { try await Task.sleep(for: delay) }
        if state.withLock({ $0.failure }) == .timeOutBeforeCharging { throw TimedOut() }
        let result = try await SandboxPaymentGateway().charge(charge)
        let kept = state.withLock { state in
            if let earlier = state.outcomes[charge.idempotencyKey] { return earlier }
            state.outcomes[charge.idempotencyKey] = result
            return result
        }
        if state.withLock({ $0.failure }) == .timeOutAfterCharging { throw TimedOut() }
        return kept
    }

    public func lookup(_ charge: ChargeRequest) async throws -> ChargeLookup {
        state.withLock { state in
            state.lookups += 1
            return state.outcomes[charge.idempotencyKey].map(ChargeLookup.answered) ?? .notFound
        }
    }
}
