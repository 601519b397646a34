import Foundation
import Logging
import PostgresNIO

/// Units of a cancelled or expired order: back in PostgreSQL's `available` in the transaction that
/// changed the order, and back in Redis once, right after it. The `redis_release` job written in
/// that transaction makes the Redis half survive a crash or a Redis outage: the worker runs it when
/// the attempt right after the commit could not.
public struct ReturnedUnits: Sendable, Equatable {
    /// The order id as the API and the job payloads spell it.
    public let orderID: String
    public let saleID: String
    public let sku: String
    public let shopperID: String
    public let quantity: Int64

    public init(orderID: String, saleID: String, sku: String, shopperID: String, quantity: Int64) {
        self.orderID = orderID
        self.saleID = saleID
        self.sku = sku
        self.shopperID = shopperID
        self.quantity = quantity
    }

    public init(_ order: Order) {
        self.init(
            orderID: order.reference, saleID: order.saleID, sku: order.sku, shopperID: order.shopperID,
            quantity: order.quantity)
    }
}

public struct StockReturn: Sendable {
    let postgres: PostgresClient
    let reservations: StockReservations
    let logger: Logger

    public init(postgres: PostgresClient, reservations: StockReservations, logger: Logger) {
        self.postgres = postgres
        self.reservations = reservations
        self.logger = logger
    }

    /// Inside the transaction that cancelled or expired the orders: their units back into
    /// `available` (rows locked in key order, so two of these never deadlock) and off their
    /// shoppers' units of record, and for each order
    /// its Redis release and, when the order has an address, its e-mail (`event`) as jobs. The release is due a little later: the
    /// attempt right after the commit nearly always does it, and then deletes the job unrun.
    public static func record(
        _ returned: [ReturnedUnits], event: String, on connection: PostgresConnection, logger: Logger
    ) async throws {
        guard !returned.isEmpty else { return }
        var units: [String: (saleID: String, sku: String, units: Int64)] = [:]
        for order in returned {
            units["\(order.saleID)\n\(order.sku)", default: (order.saleID, order.sku, 0)].units += order.quantity
        }
        let rows = units.values.sorted { ($0.saleID, $0.sku) < ($1.saleID, $1.sku) }
        let sales = rows.map(\.saleID)
        let skus = rows.map(\.sku)
        try await connection.query(
            """
            INSERT INTO jobs (kind, payload, dedupe_key, run_at)
            SELECT 'email', jsonb_build_object('order_id', o, 'event', \(event)), 'email:' || o || ':' || \(event), now()
            FROM unnest(\(returned.map(\.orderID))::text[]) AS o
            WHERE EXISTS (SELECT 1 FROM orders WHERE id = o::uuid AND email IS NOT NULL)
            UNION ALL
            SELECT 'redis_release',
                   jsonb_build_object('order_id', o, 'sale_id', s, 'sku', k, 'shopper_id', h, 'quantity', q),
                   'redis_release:' || o, now() + interval '10 seconds'
            FROM unnest(\(returned.map(\.orderID))::text[], \(returned.map(\.saleID))::text[], \(returned.map(\.sku))::text[],
                        \(returned.map(\.shopperID))::text[], \(returned.map(\.quantity))::bigint[]) AS r(o, s, k, h, q)
            ON CONFLICT (dedupe_key) DO NOTHING
            """, logger: logger)
        // The stock of record last, so its row (the hot SKU's, which the group commit writes) is
        // locked only for this update and the commit.
        try await connection.query(
            """
            SELECT 1 FROM inventory WHERE (sale_id, sku) IN (SELECT * FROM unnest(\(sales)::text[], \(skus)::text[]))
            ORDER BY sale_id, sku FOR UPDATE
            """, logger: logger)
        try await connection.query(
            """
            UPDATE inventory SET available = available + d.units, version = version + 1
            FROM unnest(\(sales)::text[], \(skus)::text[], \(rows.map(\.units))::bigint[]) AS d(sale_id, sku, units)
            WHERE inventory.sale_id = d.sale_id AND inventory.sku = d.sku
            """, logger: logger)
        // The shoppers' units of record, after the inventory rows: every writer of these rows holds
        // its SKU's inventory row first, so they never deadlock. Floored at zero: a count that is
        // somehow short must never stop stock coming back.
        try await connection.query(
            """
            UPDATE shopper_units SET units = greatest(shopper_units.units - d.units, 0)
            FROM (
                SELECT s, k, h, sum(q)::int FROM unnest(
                    \(returned.map(\.saleID))::text[], \(returned.map(\.sku))::text[],
                    \(returned.map(\.shopperID))::text[], \(returned.map(\.quantity))::bigint[]) AS r(s, k, h, q)
                GROUP BY s, k, h
            ) AS d(sale_id, sku, shopper_id, units)
            WHERE shopper_units.sale_id = d.sale_id AND shopper_units.sku = d.sku AND shopper_units.shopper_id = d.shopper_id
            """, logger: logger)
    }

    /// After the commit: the units back in Redis (once per order: the release marker), and the jobs
    /// that would have done it deleted. Best effort: what fails here, the jobs do later.
    public func releaseInRedis(_ returned: [ReturnedUnits]) async {
        let released = await withTaskGroup(of: String?.self) { group in
            for order in returned {
                group.addTask { [reservations, logger] in
                    do {
                        try await reservations.release(
                            saleID: order.saleID, sku: order.sku, orderID: order.orderID, shopperID: order.shopperID,
                            quantity: order.quantity)
                        return "redis_release:\(order.orderID)"
                    } catch {
                        logger.warning("Redis release deferred to the worker", metadata: ["error": "\(error)"])
                        return nil
                    }
                }
            }
            return await group.reduce(into: [String]()) { if let key = $1 { $0.append(key) } }
        }
        guard !released.isEmpty else { return }
        do {
            try await postgres.query(
                "DELETE FROM jobs WHERE dedupe_key = ANY(\(released)) AND status = 'pending'",
                logger: logger)
        } catch {
            // The jobs run once more and find the release markers: nothing is given back twice.
            logger.warning("Redis release jobs not deleted", metadata: ["error": "\(PostgresErrorText.describe(error))"])
        }
    }
}
