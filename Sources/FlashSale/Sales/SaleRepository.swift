import Foundation
import Logging
import PostgresNIO

/// Reads sales and their items from PostgreSQL.
public struct SaleRepository: SaleSource {
    let postgres: PostgresClient
    let logger: Logger

    public init(postgres: PostgresClient, logger: Logger) {
        self.postgres = postgres
        self.logger = logger
    }

    public func sale(_ id: String) async throws -> Sale? {
        let rows = try await postgres.query(
            """
            SELECT id, name, starts_at, ends_at, extract(epoch FROM payment_window)::bigint, catalog_version
            FROM sales WHERE id = \(id)
            """, logger: logger)
        for try await (id, name, startsAt, endsAt, window, version)
            in rows.decode((String, String, Date, Date, Int64, Int64).self)
        {
            return Sale(
                id: id, name: name, startsAt: startsAt, endsAt: endsAt, paymentWindowSeconds: window,
                catalogVersion: version)
        }
        return nil
    }

    public func item(saleID: String, sku: String) async throws -> SaleItem? {
        try await items(
            """
            SELECT sale_id, sku, name, price_cents, per_shopper_limit::bigint
            FROM inventory WHERE sale_id = \(saleID) AND sku = \(sku)
            """
        ).first
    }

    /// One more row than asked tells whether another page follows; the primary key (sale_id, sku)
    /// serves both the seek and the order, so a page costs the same on the millionth SKU as on the first.
    public func items(ofSale saleID: String, after: String?, limit: Int) async throws -> SaleItemPage {
        let rows = try await items(
            """
            SELECT sale_id, sku, name, price_cents, per_shopper_limit::bigint
            FROM inventory WHERE sale_id = \(saleID) AND sku > \(after ?? "")
            ORDER BY sku LIMIT \(Int64(limit) + 1)
            """)
        let page = Array(rows.prefix(limit))
        return SaleItemPage(items: page, nextAfter: rows.count > limit ? page.last?.sku : nil)
    }

    /// PostgreSQL's stock of record of these SKUs (missing ones are absent): what reads show when
    /// Redis cannot answer.
    public func available(saleID: String, skus: [String]) async throws -> [String: Int64] {
        var available: [String: Int64] = [:]
        let rows = try await postgres.query(
            "SELECT sku, available::bigint FROM inventory WHERE sale_id = \(saleID) AND sku = ANY(\(skus))",
            logger: logger)
        for try await (sku, count) in rows.decode((String, Int64).self) { available[sku] = count }
        return available
    }

    private func items(_ query: PostgresQuery) async throws -> [SaleItem] {
        var items: [SaleItem] = []
        let rows = try await postgres.query(query, logger: logger)
        for try await (saleID, sku, name, price, limit) in rows.decode((String, String, String, Int64, Int64).self) {
            items.append(SaleItem(saleID: saleID, sku: sku, name: name, priceCents: price, perShopperLimit: limit))
        }
        return items
    }
}
