import Foundation
import Logging
import NIOCore
import PostgresNIO

/// Pays a reserved order: reserved → paid with an optimistic check of the order's version, and a
/// payment row unique on (order, idempotency key) whose stored answer is replayed for a repeated key.
public struct PaymentWorkflow: Sendable {
    let postgres: PostgresClient
    let orders: OrderRepository
    let gateway: any PaymentGateway
    let logger: Logger

    public init(postgres: PostgresClient, gateway: any PaymentGateway, logger: Logger) {
        self.postgres = postgres
        self.orders = OrderRepository(postgres: postgres, logger: logger)
        self.gateway = gateway
        self.logger = logger
    }

    public func pay(orderID: String, shopperID: String, idempotencyKey: String, paymentMethod: String) async throws
        -> OrderAnswer
    {
        guard let id = UUID(uuidString: orderID), let order = try await orders.order(id), order.shopperID == shopperID
        else { return .notFound(orderID) }
        if let stored = try await storedAnswer(orderID: id, key: idempotencyKey, paymentMethod: paymentMethod) {
            return stored
        }
        if let refusal = Self.refusal(for: order, now: Date()) { return refusal }
        do {
            return try await chargeAndRecord(orderID: id, key: idempotencyKey, paymentMethod: paymentMethod)
        } catch where PostgresErrorText.sqlState(error) == "23505" {
            // The same key raced us (a declined payment takes no row lock); its answer is stored now.
            if let stored = try await storedAnswer(orderID: id, key: idempotencyKey, paymentMethod: paymentMethod) {
                return stored
            }
            throw error
        }
    }

    /// Charges and records with the order's row locked from before the charge until the commit: the
    /// worker's expiry at `pay_by`, a cancel or a pay with another key waits, then finds the order
    /// paid (or still reserved after a decline). So the card is charged only for an order this
    /// transaction then marks paid, and at most once across keys. (The gateway is asked while the
    /// lock is held; a `paying` state instead of the lock is issue 16's.)
    private func chargeAndRecord(orderID id: UUID, key: String, paymentMethod: String) async throws -> OrderAnswer {
        try await postgres.withTransaction(logger: logger) { connection in
            guard let order = try await OrderRepository.order(id, on: connection, lock: true, logger: logger) else {
                return .notFound(id.uuidString.lowercased())
            }
            if let stored = try await Self.storedAnswer(
                orderID: id, key: key, paymentMethod: paymentMethod, rows: { try await connection.query($0, logger: logger) })
            {
                return stored
            }
            if let refusal = Self.refusal(for: order, now: Date()) { return refusal }
            let result: PaymentResult
            do {
                result = try await gateway.charge(
                    orderID: id, amountCents: order.amountCents, paymentMethod: paymentMethod, idempotencyKey: key)
            } catch PaymentGatewayError.unknownPaymentMethod(let method) {
                return .problem(400, "invalid_request", "Invalid request", "unknown payment method \(method)")
            }
            return try await record(result, for: order, key: key, paymentMethod: paymentMethod, on: connection)
        }
    }

    private func record(
        _ result: PaymentResult, for order: Order, key: String, paymentMethod: String, on connection: PostgresConnection
    ) async throws -> OrderAnswer {
        let answer: OrderAnswer
        switch result {
        case .declined(let reason):
            answer = .problem(402, "payment_declined", "Payment declined", reason)
        case .succeeded:
            let paid = try await OrderRepository.transition(
                order.id, to: .paid, expectedVersion: order.version, withinPaymentWindow: true,
                on: connection, logger: logger)
            guard let paidOrder = paid else {
                // Changed under us. By a request with this very key (a retry racing its original)?
                // Its answer is committed now, as its row lock made this update wait: replay it.
                if let stored = try await Self.storedAnswer(
                    orderID: order.id, key: key, paymentMethod: paymentMethod,
                    rows: { try await connection.query($0, logger: logger) })
                {
                    return stored
                }
                // Expired, cancelled, or paid with another key: say what it is now.
                let current = try await OrderRepository.order(order.id, on: connection, logger: logger)
                return Self.refusal(for: current ?? order, now: Date())
                    ?? .expired
            }
            answer = .order(paidOrder)
            try await connection.query(
                """
                INSERT INTO jobs (kind, payload, dedupe_key)
                SELECT 'email', jsonb_build_object('order_id', \(order.reference), 'event', 'order_paid'),
                       \("email:\(order.reference):order_paid")
                WHERE EXISTS (SELECT 1 FROM orders WHERE id = \(order.id) AND email IS NOT NULL)
                ON CONFLICT (dedupe_key) DO NOTHING
                """, logger: logger)
        }
        let status = answer.isProblem ? "declined" : "succeeded"
        try await connection.query(
            """
            INSERT INTO payments (order_id, idempotency_key, payment_method, amount_cents, status, response_status, response_body)
            VALUES (\(order.id), \(key), \(paymentMethod), \(order.amountCents), \(status), \(answer.status), \(ByteBuffer(bytes: answer.body)))
            """, logger: logger)
        return answer
    }

    private func storedAnswer(orderID: UUID, key: String, paymentMethod: String) async throws -> OrderAnswer? {
        try await Self.storedAnswer(
            orderID: orderID, key: key, paymentMethod: paymentMethod,
            rows: { [postgres, logger] in try await postgres.query($0, logger: logger) })
    }

    /// The answer stored under (order, key), read with `rows` (the pool, or a transaction's connection).
    private static func storedAnswer(
        orderID: UUID, key: String, paymentMethod: String, rows: (PostgresQuery) async throws -> PostgresRowSequence
    ) async throws -> OrderAnswer? {
        let rows = try await rows(
            """
            SELECT payment_method, response_status, response_body FROM payments
            WHERE order_id = \(orderID) AND idempotency_key = \(key)
            """)
        for try await (method, status, body) in rows.decode((String, Int, ByteBuffer).self) {
            guard method == paymentMethod else {
                return .problem(
                    422, "idempotency_key_reused", "Idempotency key reused",
                    "this Idempotency-Key was already used with a different request body")
            }
            return OrderAnswer(status: status, body: Array(buffer: body), isProblem: status >= 400, replayed: true)
        }
        return nil
    }

    /// Why `order` cannot be paid now, or nil when it can.
    static func refusal(for order: Order, now: Date) -> OrderAnswer? {
        switch order.status {
        case .expired:
            return .expired
        case .paid, .cancelled:
            return .problem(409, "order_not_payable", "Order not payable", "the order is \(order.status.rawValue)")
        case .reserved where order.payBy <= now:
            return .expired
        case .reserved:
            return nil
        }
    }
}
