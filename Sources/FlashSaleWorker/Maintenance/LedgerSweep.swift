import FlashSale
import Foundation
import Logging
import PostgresNIO
import RedisClient

/// Settles reservation-ledger entries older than a bound: units deducted in Redis whose purchase
/// never finished (the service died between the deduction and the commit, or could not learn the
/// commit's outcome). PostgreSQL decides: an order for the token is finalized (its 201 stored, so a
/// retry of the token replays it); no order means the units and the shopper's count go back, and
/// the token's record says so (a retry hears 503 with "use a new checkout token").
public struct LedgerSweep: Sendable {
    /// An entry younger than this may belong to a purchase still running. At least
    /// ``LedgerBound/minimumSweepAge`` in production: a purchase starts no write after
    /// ``LedgerBound/writeWindow`` and every write ends within 10 s of its start.
    public let age: Duration
    static let entriesPerRound = 500

    let postgres: PostgresClient
    let ledger: ReservationLedger
    let reservations: StockReservations
    let logger: Logger

    public init(postgres: PostgresClient, redis: RedisClient, age: Duration = .seconds(30), logger: Logger) {
        self.postgres = postgres
        ledger = ReservationLedger(redis: redis)
        reservations = StockReservations(redis: redis)
        self.age = age
        self.logger = logger
    }

    public struct Outcome: Sendable, Equatable {
        public var finalized = 0
        public var givenBack = 0
        /// Entries whose idempotency record was gone: nothing to give back is known; dropped.
        public var forgotten = 0
    }

    /// Every sale that may still have entries: not over, or over for less than a day.
    public func sweepAll() async throws -> Outcome {
        let sales = try await postgres.query(
            "SELECT id FROM sales WHERE ends_at > now() - interval '1 day'", logger: logger
        ).decode(String.self).collectAll()
        var total = Outcome()
        for sale in sales {
            let outcome = try await sweep(saleID: sale)
            total.finalized += outcome.finalized
            total.givenBack += outcome.givenBack
            total.forgotten += outcome.forgotten
        }
        return total
    }

    public func sweep(saleID: String) async throws -> Outcome {
        var outcome = Outcome()
        while true {
            let entries = try await ledger.entries(saleID: saleID, olderThan: age, limit: Self.entriesPerRound)
            guard !entries.isEmpty else { break }
            try await settle(entries, saleID: saleID, into: &outcome)
            if entries.count < Self.entriesPerRound { break }
        }
        if outcome != Outcome() {
            logger.notice(
                "reservation ledger swept",
                metadata: [
                    "sale": "\(saleID)", "finalized": "\(outcome.finalized)", "given_back": "\(outcome.givenBack)",
                    "forgotten": "\(outcome.forgotten)",
                ])
        }
        return outcome
    }

    private func settle(_ entries: [ReservationLedger.Entry], saleID: String, into outcome: inout Outcome) async throws {
        let committed = try await committedOrders(saleID: saleID, entries: entries)
        for entry in entries {
            if let order = committed[entry.token] {
                try await reservations.finalize(saleID: saleID, token: entry.token, body: OrderDocument.encode(order))
                outcome.finalized += 1
            } else if let shopper = entry.shopperID, let sku = entry.sku, let quantity = entry.quantity {
                try await reservations.compensate(
                    saleID: saleID, sku: sku, token: entry.token, shopperID: shopper, quantity: quantity)
                outcome.givenBack += 1
            } else {
                logger.error(
                    "ledger entry without its record; dropped", metadata: ["sale": "\(saleID)", "token": "\(entry.token)"])
                try await ledger.forget(saleID: saleID, token: entry.token)
                outcome.forgotten += 1
            }
        }
    }

    /// The entries' orders PostgreSQL has, as their 201 showed them. Past the age bound no purchase
    /// starts a write of these orders any more (``LedgerBound``); the SKUs' rows are fenced as well
    /// (version bumped under their lock), so a statement of an old write still queued somewhere
    /// expects an older version and cannot apply. One row per statement, so this holds one row lock
    /// at a time and cannot deadlock with an expiry or a cancel locking several.
    private func committedOrders(saleID: String, entries: [ReservationLedger.Entry]) async throws -> [String: Order] {
        for sku in Set(entries.compactMap(\.sku)).sorted() {
            try await postgres.query(
                "UPDATE inventory SET version = version + 1 WHERE sale_id = \(saleID) AND sku = \(sku)", logger: logger)
        }
        let rows = try await postgres.query(
            """
            SELECT checkout_token, id, sku, shopper_id, quantity::bigint, amount_cents, pay_by, created_at FROM orders
            WHERE checkout_token = ANY(\(entries.map(\.token)))
            """, logger: logger)
        var orders: [String: Order] = [:]
        for try await (token, id, sku, shopper, quantity, amount, payBy, createdAt) in rows.decode(
            (String, UUID, String, String, Int64, Int64, Date, Date).self)
        {
            // As the 201 said it: reserved, whatever the order has become since.
            orders[token] = Order(
                id: id, saleID: saleID, sku: sku, shopperID: shopper, quantity: quantity, amountCents: amount,
                status: .reserved, payBy: payBy, createdAt: createdAt, version: 0)
        }
        return orders
    }
}
