import Foundation
import Logging
import PostgresNIO

/// What `flashsale sales` shows: each sale's state and, per SKU, where its units are.
public struct SalesOverview: Sendable {
    public enum State: String, Sendable {
        case scheduled, live
        case soldOut = "sold out"
        case ended
    }

    public struct ItemLine: Sendable, Equatable {
        public let sku: String
        public let stock: Int64
        /// Units in orders that are reserved (a `paying` one too) or paid.
        public var sold: Int64 { reserved + paid }
        public let reserved: Int64
        public let paid: Int64
        public let available: Int64
    }

    public struct SaleLine: Sendable {
        public let id: String
        public let name: String
        public let startsAt: Date
        public let endsAt: Date
        public let state: State
        public let skuCount: Int
        /// The first SKUs in order, at most the limit asked for.
        public let items: [ItemLine]
        public let totals: ItemLine
    }

    let postgres: PostgresClient
    let logger: Logger

    public init(postgres: PostgresClient, logger: Logger) {
        self.postgres = postgres
        self.logger = logger
    }

    public func sales(only saleID: String? = nil, itemsPerSale: Int, now: Date = Date()) async throws -> [SaleLine] {
        let sales = try await postgres.query(
            """
            SELECT s.id, s.name, s.starts_at, s.ends_at, count(i.sku), coalesce(sum(i.initial_stock), 0)::bigint,
                   coalesce(sum(i.available), 0)::bigint
            FROM sales s LEFT JOIN inventory i ON i.sale_id = s.id
            WHERE \(saleID == nil) OR s.id = \(saleID ?? "")
            GROUP BY s.id ORDER BY s.starts_at, s.id
            """, logger: logger
        ).decode((String, String, Date, Date, Int64, Int64, Int64).self).collectAll()
        var lines: [SaleLine] = []
        for (id, name, startsAt, endsAt, skuCount, stock, available) in sales {
            let items = try await items(saleID: id, limit: itemsPerSale)
            let ordered =
                try await postgres.query(
                    """
                    SELECT coalesce(sum(quantity) FILTER (WHERE status IN ('reserved', 'paying')), 0)::bigint,
                           coalesce(sum(quantity) FILTER (WHERE status = 'paid'), 0)::bigint
                    FROM orders WHERE sale_id = \(id)
                    """, logger: logger
                ).decode((Int64, Int64).self).collectAll().first ?? (Int64(0), Int64(0))
            let state: State =
                now < startsAt ? .scheduled : now >= endsAt ? .ended : available == 0 ? .soldOut : .live
            lines.append(
                SaleLine(
                    id: id, name: name, startsAt: startsAt, endsAt: endsAt, state: state, skuCount: Int(skuCount),
                    items: items,
                    totals: ItemLine(sku: "total", stock: stock, reserved: ordered.0, paid: ordered.1, available: available)))
        }
        return lines
    }

    private func items(saleID: String, limit: Int) async throws -> [ItemLine] {
        try await postgres.query(
            """
            SELECT i.sku, i.initial_stock::bigint,
                   coalesce(sum(o.quantity) FILTER (WHERE o.status IN ('reserved', 'paying')), 0)::bigint,
                   coalesce(sum(o.quantity) FILTER (WHERE o.status = 'paid'), 0)::bigint, i.available::bigint
            FROM (SELECT * FROM inventory WHERE sale_id = \(saleID) ORDER BY sku LIMIT \(limit)) i
            LEFT JOIN orders o ON o.sale_id = i.sale_id AND o.sku = i.sku
            GROUP BY i.sku, i.initial_stock, i.available ORDER BY i.sku
            """, logger: logger
        ).decode((String, Int64, Int64, Int64, Int64).self).collectAll().map {
            ItemLine(sku: $0.0, stock: $0.1, reserved: $0.2, paid: $0.3, available: $0.4)
        }
    }
}
