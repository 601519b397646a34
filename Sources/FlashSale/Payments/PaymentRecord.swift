import Foundation
import Logging
import NIOCore
import PostgresNIO

/// A row of `payments`: written `pending` in the transaction that takes the order (reserved →
/// paying), before the gateway is asked; final with the answer replayed for its idempotency key.
struct PaymentRecord: Sendable, Equatable {
    enum State: Sendable, Equatable {
        /// No answer yet; recorded `age` ago by PostgreSQL's clock.
        case pending(age: Duration)
        /// The answer given for this key, as a replay.
        case final(OrderAnswer)
    }

    let id: Int64
    let orderID: UUID
    let idempotencyKey: String
    let paymentMethod: String
    let amountCents: Int64
    let gatewayKey: String
    let state: State

    var charge: ChargeRequest {
        ChargeRequest(orderID: orderID, amountCents: amountCents, paymentMethod: paymentMethod, idempotencyKey: gatewayKey)
    }

    /// Reads with the pool, or with a transaction's connection.
    typealias Rows = (PostgresQuery) async throws -> PostgresRowSequence

    static func find(orderID: UUID, key: String, _ rows: Rows) async throws -> PaymentRecord? {
        try await decode(
            rows("SELECT \(unescaped: columns) FROM payments WHERE order_id = \(orderID) AND idempotency_key = \(key)")
        )
        .first
    }

    /// With `lock`, the row stays locked until the transaction of `rows` ends.
    static func find(id: Int64, lock: Bool = false, _ rows: Rows) async throws -> PaymentRecord? {
        try await decode(
            rows("SELECT \(unescaped: columns) FROM payments WHERE id = \(id) \(unescaped: lock ? "FOR UPDATE" : "")")
        )
        .first
    }

    /// Inside the transaction that took `order` (now paying): the pending payment, and a
    /// `payment_check` job due once no request can still be waiting for its charge, so a payment whose
    /// answer was lost (a crash, a gateway timeout, a client that went away) is settled by the worker.
    /// The same key racing us fails this with 23505 on (order, key).
    static func insertPending(
        order: Order, key: String, paymentMethod: String, checkAfter: Duration, on connection: PostgresConnection,
        logger: Logger
    ) async throws -> PaymentRecord {
        let gatewayKey = ChargeRequest.gatewayKey(orderID: order.id, clientKey: key)
        let id = try await connection.query(
            """
            WITH payment AS (
                INSERT INTO payments (order_id, idempotency_key, payment_method, amount_cents, status, gateway_key)
                VALUES (\(order.id), \(key), \(paymentMethod), \(order.amountCents), 'pending', \(gatewayKey))
                RETURNING id)
            INSERT INTO jobs (kind, payload, dedupe_key, run_at, max_attempts)
            SELECT 'payment_check', jsonb_build_object('payment_id', id, 'order_id', \(order.reference)),
                   'payment_check:' || id, now() + make_interval(secs => \(checkAfter / .seconds(1))), 30
            FROM payment
            RETURNING (payload->>'payment_id')::bigint
            """, logger: logger
        ).decode(Int64.self).collectAll()[0]
        return PaymentRecord(
            id: id, orderID: order.id, idempotencyKey: key, paymentMethod: paymentMethod, amountCents: order.amountCents,
            gatewayKey: gatewayKey, state: .pending(age: .zero))
    }

    /// The payment's check job, once the payment is settled and the job has nothing left to do
    /// (one already running finds the payment settled and ends).
    static func deleteCheck(paymentID: Int64, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query(
            "DELETE FROM jobs WHERE dedupe_key = \("payment_check:\(paymentID)") AND status = 'pending'", logger: logger)
    }

    private static let columns = """
        id, order_id, idempotency_key, payment_method, amount_cents, gateway_key, response_status, response_body,
        extract(epoch FROM now() - created_at)::float8
        """

    private static func decode(_ rows: PostgresRowSequence) async throws -> [PaymentRecord] {
        var records: [PaymentRecord] = []
        for try await (id, orderID, key, method, amount, gatewayKey, status, body, age) in rows.decode(
            (Int64, UUID, String, String, Int64, String, Int?, ByteBuffer?, Double).self)
        {
            let state: State =
                if let status, let body {
                    .final(OrderAnswer(status: status, body: Array(buffer: body), isProblem: status >= 400, replayed: true))
                } else {
                    .pending(age: .milliseconds(Int64(max(age, 0) * 1000)))
                }
            records.append(
                PaymentRecord(
                    id: id, orderID: orderID, idempotencyKey: key, paymentMethod: method, amountCents: amount,
                    gatewayKey: gatewayKey, state: state))
        }
        return records
    }
}
