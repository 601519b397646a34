import Foundation
import Logging
import PostgresNIO

/// Reads sales and their items from PostgreSQL.
public struct SaleRepository: Sendable {
    let postgres: PostgresClient
    let logger: Logger

    public init(postgres: PostgresClient, logger: Logger) {
        self.postgres = postgres
        self.logger = logger
    }

    public func sale(_ id: String) async throws -> Sale? {
        let rows = try await postgres.query(
            """
            SELECT id, name, starts_at, ends_at, extract(epoch FROM payment_window)::bigint
            FROM sales WHERE id = \(id)
            """, logger: logger)
        for try await (id, name, startsAt, endsAt, window) in rows.decode((String, String, Date, Date, Int64).self) {
            return Sale(id: id, name: name, startsAt: startsAt, endsAt: endsAt, paymentWindowSeconds: window)
        }
        return nil
    }

    public func items(ofSale saleID: String) async throws -> [SaleItem] {
        try await items(
            """
            SELECT sale_id, sku, name, price_cents, initial_stock::bigint, available::bigint, per_shopper_limit::bigint
            FROM inventory WHERE sale_id = \(saleID) ORDER BY sku
            """)
    }

    public func item(saleID: String, sku: String) async throws -> SaleItem? {
        try await items(
            """
            SELECT sale_id, sku, name, price_cents, initial_stock::bigint, available::bigint, per_shopper_limit::bigint
            FROM inventory WHERE sale_id = \(saleID) AND sku = \(sku)
            """
        ).first
    }

    private func items(_ query: PostgresQuery) async throws -> [SaleItem] {
        var items: [SaleItem] = []
        let rows = try await postgres.query(query, logger: logger)
        for try await (saleID, sku, name, price, initial, available, limit) in rows.decode(
            (String, String, String, Int64, Int64, Int64, Int64).self)
        {
            items.append(
                SaleItem(
                    saleID: saleID, sku: sku, name: name, priceCents: price, initialStock: initial,
                    available: available, perShopperLimit: limit))
        }
        return items
    }
}
