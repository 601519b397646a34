import CircuitBreaking
import FlashSaleEmail
import Synchronization
import Testing

/// A clock that moves only when told to.
final class FakeClock: Sendable {
    let start = ContinuousClock.now
    private let offset = Mutex<Duration>(.zero)

    func now() -> ContinuousClock.Instant { start + offset.withLock { $0 } }
    func advance(_ duration: Duration) { offset.withLock { $0 += duration } }
}

/// An inner sender answering from a script, counting its calls.
final class ScriptedSender: EmailSender {
    private let state: Mutex<(calls: Int, outcomes: [(any Error)?])>

    /// `nil` is a delivery; the last outcome repeats.
    init(_ outcomes: [(any Error)?]) { state = Mutex((0, outcomes)) }

    var calls: Int { state.withLock { $0.calls } }

    func set(_ outcomes: [(any Error)?]) { state.withLock { $0.outcomes = outcomes } }

    func send(_ message: EmailMessage) async throws {
        let outcome: (any Error)? = state.withLock { state in
            state.calls += 1
            return state.outcomes.count > 1 ? state.outcomes.removeFirst() : state.outcomes.first ?? nil
        }
        if let outcome { throw outcome }
    }
}

@Suite struct CircuitBreakerTests {
    let policy = CircuitBreaker.Policy(
        window: .seconds(10), minimumCalls: 4, failureRatio: 0.5, coolDown: .seconds(5), probeTimeout: .seconds(20))
    let t0 = ContinuousClock.now

    func allowedTicket(_ breaker: inout CircuitBreaker, at now: ContinuousClock.Instant) throws -> CircuitBreaker.Ticket {
        guard case .allowed(let ticket) = breaker.acquire(now: now).0 else {
            Issue.record("refused at \(now - t0)")
            throw CancellationError()
        }
        return ticket
    }

    @Test func opensOnlyOnceTheFailureRatioIsReachedOverEnoughCalls() throws {
        var breaker = CircuitBreaker(policy: policy)
        // Three failures are fewer than the minimum of four calls.
        for _ in 0..<3 {
            let ticket = try allowedTicket(&breaker, at: t0)
            #expect(breaker.record(.failure, ticket: ticket, now: t0) == nil)
        }
        #expect(breaker.state == .closed)
        let ticket = try allowedTicket(&breaker, at: t0 + .seconds(1))
        let transition = breaker.record(.failure, ticket: ticket, now: t0 + .seconds(1))
        #expect(transition?.from == .closed && transition?.to == .open)
        #expect(breaker.state == .open && breaker.state.rawValue == 1)
        #expect(breaker.acquire(now: t0 + .seconds(2)).0 == .rejected(retryAfter: .seconds(4)))
    }

    @Test func successesKeepItClosedAndOldFailuresLeaveTheWindow() throws {
        var breaker = CircuitBreaker(policy: policy)
        for outcome in [CircuitBreaker.Outcome.failure, .success, .success, .success, .failure] {
            let ticket = try allowedTicket(&breaker, at: t0)
            _ = breaker.record(outcome, ticket: ticket, now: t0)
        }
        #expect(breaker.state == .closed)  // 2 of 5
        // 15 s later those five have left the 10 s window: three failures are not enough calls.
        for _ in 0..<3 {
            let later = t0 + .seconds(15)
            let ticket = try allowedTicket(&breaker, at: later)
            _ = breaker.record(.failure, ticket: ticket, now: later)
        }
        #expect(breaker.state == .closed)
    }

    @Test func halfOpenLetsOneProbeThroughWhichClosesOrReopens() throws {
        var breaker = CircuitBreaker(policy: policy)
        for _ in 0..<4 {
            let ticket = try allowedTicket(&breaker, at: t0)
            _ = breaker.record(.failure, ticket: ticket, now: t0)
        }
        #expect(breaker.state == .open)

        // After the cool-down: one probe, everyone else still refused.
        let (decision, transition) = breaker.acquire(now: t0 + .seconds(5))
        guard case .allowed(let probe) = decision else {
            Issue.record("no probe after the cool-down")
            return
        }
        #expect(probe.isProbe && transition?.to == .halfOpen && breaker.state.rawValue == 2)
        guard case .rejected = breaker.acquire(now: t0 + .seconds(6)).0 else {
            Issue.record("a second probe")
            return
        }

        // The probe fails: open again for a full cool-down.
        #expect(breaker.record(.failure, ticket: probe, now: t0 + .seconds(6))?.to == .open)
        #expect(breaker.acquire(now: t0 + .seconds(10)).0 == .rejected(retryAfter: .seconds(1)))

        // The next probe succeeds: closed.
        let second = try allowedTicket(&breaker, at: t0 + .seconds(11))
        #expect(second.isProbe)
        #expect(breaker.record(.success, ticket: second, now: t0 + .seconds(11))?.to == .closed)
        #expect(breaker.state == .closed)
        _ = try allowedTicket(&breaker, at: t0 + .seconds(11))
    }

    @Test func lateOutcomesAndLostProbesDoNotWedgeIt() throws {
        var breaker = CircuitBreaker(policy: policy)
        let slow = try allowedTicket(&breaker, at: t0)  // started while closed, ends much later
        for _ in 0..<4 {
            let ticket = try allowedTicket(&breaker, at: t0)
            _ = breaker.record(.failure, ticket: ticket, now: t0)
        }
        let probe = try allowedTicket(&breaker, at: t0 + .seconds(5))
        // The slow call from before the opening succeeds: it says nothing about now.
        #expect(breaker.record(.success, ticket: slow, now: t0 + .seconds(6)) == nil)
        #expect(breaker.state == .halfOpen)
        // The probe is cancelled: its slot is freed for another probe.
        #expect(breaker.record(.ignored, ticket: probe, now: t0 + .seconds(6)) == nil)
        let next = try allowedTicket(&breaker, at: t0 + .seconds(6))
        #expect(next.isProbe)
        // And a probe that never reports is replaced after the probe timeout.
        guard case .rejected = breaker.acquire(now: t0 + .seconds(7)).0 else {
            Issue.record("second probe")
            return
        }
        #expect(try allowedTicket(&breaker, at: t0 + .seconds(27)).isProbe)
    }
}

@Suite struct BreakerGuardedSenderTests {
    let message = EmailMessage(idempotencyKey: "k", orderID: "o", event: "order_paid", to: "a@b.c", subject: "s", text: "t")

    @Test func failsFastWhileOpenAndResumesAfterASuccessfulProbe() async throws {
        let clock = FakeClock()
        let inner = ScriptedSender([EmailDeliveryError.retryable("provider answered 503", retryAfter: nil)])
        let transitions = Mutex<[CircuitBreaker.Transition]>([])
        let sender = BreakerGuardedSender(
            wrapping: inner,
            policy: .init(window: .seconds(10), minimumCalls: 3, failureRatio: 1, coolDown: .seconds(30)),
            clock: clock.now, onTransition: { transition in transitions.withLock { $0.append(transition) } })

        for _ in 0..<3 { await #expect(throws: EmailDeliveryError.self) { try await sender.send(message) } }
        #expect(inner.calls == 3)
        #expect(sender.state == .open)

        clock.advance(.seconds(10))
        // Asked before a rate-limit permit is spent: how long nothing would be sent.
        #expect(sender.holdOff() == .seconds(20))
        await #expect(throws: EmailDeliveryError.circuitOpen(retryAfter: .seconds(20))) {
            try await sender.send(message)
        }
        #expect(inner.calls == 3)  // the provider was not called

        clock.advance(.seconds(20))
        #expect(sender.holdOff() == nil, "the probe may go")
        inner.set([nil])
        try await sender.send(message)  // the probe
        #expect(inner.calls == 4)
        #expect(sender.state == .closed)
        try await sender.send(message)
        #expect(transitions.withLock { $0.map(\.to) } == [.open, .halfOpen, .closed])
    }

    @Test func permanentRefusalsMeanTheProviderIsUp() async throws {
        let inner = ScriptedSender([EmailDeliveryError.permanent("provider answered 400 Bad Request")])
        let sender = BreakerGuardedSender(wrapping: inner, policy: .init(minimumCalls: 2, failureRatio: 0.5))
        for _ in 0..<10 {
            await #expect(throws: EmailDeliveryError.permanent("provider answered 400 Bad Request")) {
                try await sender.send(message)
            }
        }
        #expect(sender.state == .closed)
        #expect(inner.calls == 10)
    }

    @Test func unknownErrorsCountAsFailures() async throws {
        struct Boom: Error {}
        let inner = ScriptedSender([Boom()])
        let sender = BreakerGuardedSender(wrapping: inner, policy: .init(minimumCalls: 2, failureRatio: 0.5))
        for _ in 0..<2 { await #expect(throws: Boom.self) { try await sender.send(message) } }
        #expect(sender.state == .open)
    }
}
