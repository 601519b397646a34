import Foundation
import Logging
import PostgresNIO

/// Reads orders from PostgreSQL.
public struct OrderRepository: Sendable {
    let postgres: PostgresClient
    let logger: Logger

    public init(postgres: PostgresClient, logger: Logger) {
        self.postgres = postgres
        self.logger = logger
    }

    public func order(_ id: UUID) async throws -> Order? {
        try await postgres.withConnection { try await Self.order(id, on: $0, logger: logger) }
    }

    /// The order as `connection` sees it (inside its transaction, if any); with `lock`, its row is
    /// locked until that transaction ends.
    static func order(_ id: UUID, on connection: PostgresConnection, lock: Bool = false, logger: Logger) async throws
        -> Order?
    {
        try await decode(
            connection.query(
                """
                SELECT id, sale_id, sku, shopper_id, quantity::bigint, amount_cents, status, pay_by, created_at, version
                FROM orders WHERE id = \(id) \(unescaped: lock ? "FOR UPDATE" : "")
                """, logger: logger)
        ).first
    }

    /// Moves an order from `from` to `status` if it is still in `from` (and, when given, at `version`
    /// and before its `pay_by`); nil when it was not. Each order leaves `reserved` for good once, so
    /// its stock is released once.
    static func transition(
        _ id: UUID, from: OrderStatus = .reserved, to status: OrderStatus, expectedVersion: Int64? = nil,
        withinPaymentWindow: Bool = false, on connection: PostgresConnection, logger: Logger
    ) async throws -> Order? {
        try await decode(
            connection.query(
                """
                UPDATE orders SET status = \(status.rawValue), version = version + 1, updated_at = now()
                WHERE id = \(id) AND status = \(from.rawValue)
                  AND (\(expectedVersion)::bigint IS NULL OR version = \(expectedVersion))
                  AND (NOT \(withinPaymentWindow) OR pay_by > now())
                RETURNING id, sale_id, sku, shopper_id, quantity::bigint, amount_cents, status, pay_by, created_at, version
                """, logger: logger)
        ).first
    }

    static func decode(_ rows: PostgresRowSequence) async throws -> [Order] {
        var orders: [Order] = []
        for try await (id, saleID, sku, shopperID, quantity, amount, status, payBy, createdAt, version) in rows.decode(
            (UUID, String, String, String, Int64, Int64, String, Date, Date, Int64).self)
        {
            orders.append(
                Order(
                    id: id, saleID: saleID, sku: sku, shopperID: shopperID, quantity: quantity, amountCents: amount,
                    status: OrderStatus(rawValue: status) ?? .reserved, payBy: payBy, createdAt: createdAt,
                    version: version))
        }
        return orders
    }
}
