import Foundation
import PostgresNIO

extension OrderRepository {
    /// One page of a shopper's orders in a sale, newest first (ties by id), and whether more follow.
    public struct ShopperOrderPage: Sendable {
        public let orders: [Order]
        /// The last order of this page when another page follows; the next page starts after it.
        public let nextAfter: UUID?
    }

    /// Up to `limit` of the shopper's orders in the sale, newest first, after the order `after`
    /// (from the newest when nil). Keyset pagination on the index `orders_by_shopper_recent`: the
    /// position is the (created_at, id) of `after`, read from its row, so the cursor carries no time
    /// that a round trip through a client could blur; an `after` that is not one of this shopper's
    /// orders in this sale gives an empty page.
    public func orders(saleID: String, shopperID: String, after: UUID?, limit: Int) async throws -> ShopperOrderPage {
        // Planned with its parameters bound, so without a cursor the seek folds away.
        let rows = try await Self.decode(
            postgres.query(
                """
                SELECT id, sale_id, sku, shopper_id, quantity::bigint, amount_cents, status, pay_by, created_at, version
                FROM orders
                WHERE sale_id = \(saleID) AND shopper_id = \(shopperID)
                  AND (\(after)::uuid IS NULL OR (created_at, id) < (
                    SELECT created_at, id FROM orders
                    WHERE id = \(after) AND sale_id = \(saleID) AND shopper_id = \(shopperID)))
                ORDER BY created_at DESC, id DESC LIMIT \(Int64(limit) + 1)
                """, logger: logger))
        let page = Array(rows.prefix(limit))
        return ShopperOrderPage(orders: page, nextAfter: rows.count > limit ? page.last?.id : nil)
    }
}
