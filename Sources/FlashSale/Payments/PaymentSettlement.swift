import Foundation
import Logging
import NIOCore
import PostgresNIO

/// Brings a pending payment to its end, each end in one transaction that holds the payment's row:
/// finished with the gateway's answer (the order `paid`, or back to `reserved` after a decline), or
/// given up as never charged (the order back to `reserved`, the payment row gone, so its key may pay
/// afresh). A payment whose answer was lost is settled by asking the gateway, never by charging.
///
/// An order is `paying` exactly while it has a pending payment (both change in one transaction, and
/// `payments_one_pending_per_order` allows one), so whoever ends the payment moves the order on.
public struct PaymentSettlement: Sendable {
    public enum Outcome: Sendable, Equatable {
        /// The payment is final, now or before: its answer.
        case finished(OrderAnswer)
        /// Never charged: the payment row is gone and the order is back to reserved.
        case notCharged
        /// The gateway has no such charge yet, but one may still take effect: ask after `retryAfter`.
        case undecided(retryAfter: Duration)
    }

    /// A pending payment whose order is not `paying`: only a hand-made change of the tables can do
    /// that, and nothing here guesses what the order should be.
    public struct OrderNotPaying: Error, CustomStringConvertible {
        public let orderID: UUID
        public var description: String { "order \(orderID.uuidString.lowercased()) has a pending payment but is not paying" }
    }

    let postgres: PostgresClient
    let gateway: any PaymentGateway
    let settings: PaymentSettings
    let logger: Logger

    public init(postgres: PostgresClient, gateway: any PaymentGateway, settings: PaymentSettings, logger: Logger) {
        self.postgres = postgres
        self.gateway = gateway
        self.settings = settings
        self.logger = logger
    }

    /// Settles payment `paymentID` from what the gateway knows of its charge (the worker's check).
    public func settle(paymentID: Int64) async throws -> Outcome {
        guard let payment = try await PaymentRecord.find(id: paymentID, { try await postgres.query($0, logger: logger) })
        else { return .notCharged }
        return try await settle(payment)
    }

    func settle(_ payment: PaymentRecord) async throws -> Outcome {
        guard case .pending(let age) = payment.state else {
            if case .final(let answer) = payment.state { return .finished(answer) }
            return .notCharged
        }
        let lookup = try await Deadline.run(settings.chargeTimeout) { [gateway] in try await gateway.lookup(payment.charge) }
        switch lookup {
        case .answered(let result):
            guard let answer = try await finish(payment, with: result) else {
                logger.critical(
                    "the gateway has a charge for a payment given up as never charged: refund it",
                    metadata: ["order": "\(payment.orderID)", "gateway_key": "\(payment.gatewayKey)"])
                return .notCharged
            }
            return .finished(answer)
        case .notFound:
            // A charge sent late may still land until the payment is `settleTime` old.
            guard age >= settings.settleTime else { return .undecided(retryAfter: settings.settleTime - age) }
            guard try await giveUp(payment) else {
                // Ended meanwhile (its own request recorded the answer): that answer stands.
                return try await settle(paymentID: payment.id)
            }
            logger.notice("payment never charged; order back to reserved", metadata: ["order": "\(payment.orderID)"])
            return .notCharged
        }
    }

    /// Records the gateway's answer to `payment`'s charge, with the order paid (and its e-mail
    /// enqueued) or back to reserved. When the payment ended first elsewhere (the worker, a repeat
    /// of the request), its answer, which came from the same gateway; nil when it was given up.
    func finish(_ payment: PaymentRecord, with result: PaymentResult) async throws -> OrderAnswer? {
        try await postgres.withTransaction(logger: logger) { connection -> OrderAnswer? in
            guard
                let current = try await PaymentRecord.find(
                    id: payment.id, lock: true, { try await connection.query($0, logger: logger) })
            else { return nil }
            if case .final(let answer) = current.state { return answer }
            let answer: OrderAnswer
            let status: String
            switch result {
            case .succeeded:
                guard
                    let paid = try await OrderRepository.transition(
                        payment.orderID, from: .paying, to: .paid, on: connection, logger: logger)
                else { throw OrderNotPaying(orderID: payment.orderID) }
                answer = .order(paid)
                status = "succeeded"
                try await connection.query(
                    """
                    INSERT INTO jobs (kind, payload, dedupe_key)
                    SELECT 'email', jsonb_build_object('order_id', \(paid.reference), 'event', 'order_paid'),
                           \("email:\(paid.reference):order_paid")
                    WHERE EXISTS (SELECT 1 FROM orders WHERE id = \(paid.id) AND email IS NOT NULL)
                    ON CONFLICT (dedupe_key) DO NOTHING
                    """, logger: logger)
            case .declined(let reason):
                guard
                    try await OrderRepository.transition(
                        payment.orderID, from: .paying, to: .reserved, on: connection, logger: logger) != nil
                else { throw OrderNotPaying(orderID: payment.orderID) }
                answer = .problem(402, "payment_declined", "Payment declined", reason)
                status = "declined"
            }
            try await connection.query(
                """
                UPDATE payments SET status = \(status), response_status = \(answer.status),
                       response_body = \(ByteBuffer(bytes: answer.body)), updated_at = now()
                WHERE id = \(payment.id)
                """, logger: logger)
            try await PaymentRecord.deleteCheck(paymentID: payment.id, on: connection, logger: logger)
            return answer
        }
    }

    /// Gives `payment` up as never charged: its row deleted, its order back to reserved (the expiry,
    /// which waits while an order is paying, expires it if `pay_by` has passed). False when it was
    /// no longer pending.
    func giveUp(_ payment: PaymentRecord) async throws -> Bool {
        try await postgres.withTransaction(logger: logger) { connection -> Bool in
            let deleted = try await connection.query(
                "DELETE FROM payments WHERE id = \(payment.id) AND status = 'pending' RETURNING id", logger: logger
            ).decode(Int64.self).collectAll()
            guard !deleted.isEmpty else { return false }
            guard
                try await OrderRepository.transition(
                    payment.orderID, from: .paying, to: .reserved, on: connection, logger: logger) != nil
            else { throw OrderNotPaying(orderID: payment.orderID) }
            try await PaymentRecord.deleteCheck(paymentID: payment.id, on: connection, logger: logger)
            return true
        }
    }
}
