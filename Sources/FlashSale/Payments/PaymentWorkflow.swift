import Foundation
import Logging
import PostgresNIO

/// Pays a reserved order. The order's state decides before any card is charged:
///
/// 1. One short transaction takes the order, reserved → `paying` (checked against the version that
///    was judged payable, and before `pay_by`), and records the payment `pending` under (order, key).
/// 2. The gateway is asked with no transaction open and no row locked, under a key scoped to
///    (order, key), so a charge sent twice is one charge.
/// 3. A second transaction records the answer: `paid`, or back to `reserved` after a decline.
///
/// While the order is `paying` a cancel is refused, the expiry waits, and a pay with another key is
/// refused: only this payment's answer moves the order on, so a card is charged at most once per
/// order, and only for an order that ends paid. A repeat with the same key waits for the answer and
/// replays it. When the gateway's answer is lost (a timeout, a crash between 2 and 3) the order stays
/// `paying`, the answer is 503, and the payment is settled by asking the gateway what it did, from a
/// repeat with the same key or from the worker's `payment_check` job: never by charging again.
public struct PaymentWorkflow: Sendable {
    let postgres: PostgresClient
    let orders: OrderRepository
    let gateway: any PaymentGateway
    let settlement: PaymentSettlement
    public let settings: PaymentSettings
    /// The gateway's circuit breaker; nil calls it whatever it did lately.
    let breaker: DependencyBreaker?
    let logger: Logger

    public init(
        postgres: PostgresClient, gateway: any PaymentGateway, settings: PaymentSettings = PaymentSettings(),
        breaker: DependencyBreaker? = nil, logger: Logger
    ) {
        self.breaker = breaker
        self.postgres = postgres
        self.orders = OrderRepository(postgres: postgres, logger: logger)
        self.gateway = gateway
        settlement = PaymentSettlement(postgres: postgres, gateway: gateway, settings: settings, logger: logger)
        self.settings = settings
        self.logger = logger
    }

    public func pay(orderID: String, shopperID: String, idempotencyKey key: String, paymentMethod: String) async throws
        -> OrderAnswer
    {
        guard let id = UUID(uuidString: orderID) else { return .notFound(orderID) }
        // Each round answers, unless the order changed between the look and the take (a race lost:
        // the next look sees why) or an earlier attempt with this key proved never charged (pay afresh).
        for _ in 0..<4 {
            guard let order = try await orders.order(id), order.shopperID == shopperID else { return .notFound(orderID) }
            if let earlier = try await PaymentRecord.find(orderID: id, key: key, { try await postgres.query($0, logger: logger) })
            {
                guard earlier.paymentMethod == paymentMethod else { return .keyReused }
                if let answer = await answer(of: earlier) { return answer }
                continue
            }
            if let refusal = Self.refusal(for: order, now: Date()) { return refusal }
            // A gateway known to be failing: refused before the order is taken, so nothing waits.
            if let unavailable = breaker?.refusal() { throw unavailable }
            let started = ContinuousClock.now
            guard let payment = try await take(order, key: key, paymentMethod: paymentMethod) else { continue }
            return try await charge(payment, recordedSince: started)
        }
        return .outcomeUnknown
    }

    /// Transaction 1: the order to paying and the payment pending; nil when the order is no longer
    /// the reserved one that was judged payable, or the same key took it first.
    private func take(_ order: Order, key: String, paymentMethod: String) async throws -> PaymentRecord? {
        do {
            return try await postgres.withTransaction(logger: logger) { connection -> PaymentRecord? in
                guard
                    try await OrderRepository.transition(
                        order.id, to: .paying, expectedVersion: order.version, withinPaymentWindow: true,
                        on: connection, logger: logger) != nil
                else { return nil }
                return try await PaymentRecord.insertPending(
                    order: order, key: key, paymentMethod: paymentMethod, checkAfter: settings.inFlightBound,
                    on: connection, logger: logger)
            }
        } catch let error where PostgresErrorText.sqlState(error) == "23505" {
            return nil
        }
    }

    /// Asks the gateway, then transaction 3.
    private func charge(_ payment: PaymentRecord, recordedSince started: ContinuousClock.Instant) async throws
        -> OrderAnswer
    {
        // A settlement may take "no charge found" as final once the payment is `settleTime` old, which
        // assumes its charge was sent within `chargeTimeout` of its record: one later is not sent.
        guard ContinuousClock.now - started < settings.chargeTimeout else {
            logger.warning(
                "payment recorded too slowly to charge; left for settlement", metadata: ["order": "\(payment.orderID)"])
            return .outcomeUnknown
        }
        let result: PaymentResult
        do {
            result = try await charged(payment)
        } catch let unavailable as DependencyUnavailable {
            // The breaker opened (or another request holds its probe) since the look above: the
            // gateway was not asked, so the payment is given up as never charged.
            _ = try await settlement.giveUp(payment)
            throw unavailable
        } catch PaymentGatewayError.unknownPaymentMethod(let method) {
            _ = try await settlement.giveUp(payment)
            return .problem(400, "invalid_request", "Invalid request", "unknown payment method \(method)")
        } catch {
            logger.warning(
                "payment outcome unknown; left for settlement",
                metadata: ["order": "\(payment.orderID)", "error": "\(error)"])
            return .outcomeUnknown
        }
        guard let answer = try await settlement.finish(payment, with: result) else {
            logger.critical(
                "charged after the payment was given up as never charged",
                metadata: ["order": "\(payment.orderID)", "gateway_key": "\(payment.gatewayKey)"])
            return .outcomeUnknown
        }
        return answer
    }

    /// The gateway's answer to the charge, through its breaker: a timeout or an error of the
    /// gateway's counts against it; a decline or an unknown payment method is an answer.
    private func charged(_ payment: PaymentRecord) async throws -> PaymentResult {
        try await DependencyBreaker.run(breaker, isFailure: { !($0 is PaymentGatewayError) }) { [gateway, settings] in
            try await Deadline.run(settings.chargeTimeout) { try await gateway.charge(payment.charge) }
        }
    }

    /// The answer of an earlier attempt with this key: stored; or awaited while its request may
    /// still be waiting for the gateway; or settled by asking the gateway. nil when it proved never
    /// charged (its row is gone): pay afresh.
    private func answer(of earlier: PaymentRecord) async -> OrderAnswer? {
        do {
            var payment = earlier
            if case .pending(let age) = payment.state, age < settings.inFlightBound {
                let until = ContinuousClock.now + (settings.inFlightBound - age)
                while case .pending = payment.state, ContinuousClock.now < until {
                    try await Task.sleep(for: settings.pollInterval)
                    guard
                        let again = try await PaymentRecord.find(id: payment.id, { try await postgres.query($0, logger: logger) })
                    else { return nil }
                    payment = again
                }
            }
            switch try await settlement.settle(payment) {
            case .finished(let answer): return answer
            case .notCharged: return nil
            case .undecided: return .outcomeUnknown
            }
        } catch {
            logger.warning("payment not settled", metadata: ["order": "\(earlier.orderID)", "error": "\(error)"])
            return .outcomeUnknown
        }
    }

    /// Why `order` cannot be paid now, or nil when it can.
    static func refusal(for order: Order, now: Date) -> OrderAnswer? {
        switch order.status {
        case .expired:
            return .expired
        case .paying:
            return .problem(409, "order_not_payable", "Order not payable", "the order is being paid with another key")
        case .paid, .cancelled:
            return .problem(409, "order_not_payable", "Order not payable", "the order is \(order.status.rawValue)")
        case .reserved where order.payBy <= now:
            return .expired
        case .reserved:
            return nil
        }
    }
}

extension OrderAnswer {
    static let keyReused = problem(
        422, "idempotency_key_reused", "Idempotency key reused",
        "this Idempotency-Key was already used with a different request body")

    /// The charge may or may not have been made; a repeat with the same key learns which.
    static let outcomeUnknown = problem(
        503, "unavailable", "Service unavailable",
        "the payment's outcome is not known yet; retry with the same Idempotency-Key to learn it")
}
