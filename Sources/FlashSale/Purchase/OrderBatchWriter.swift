import Foundation
import Logging
import PostgresNIO

/// Writes orders of one SKU with an optimistic, version-checked update of the stock of record,
/// retried with jitter when another writer got there first.
///
/// An attempt is one statement that updates the stock only if the version is the expected one and
/// inserts the orders and their jobs only if it did; one statement is atomic on its own, so BEGIN
/// and COMMIT need no round trips of their own. The expected version is read first, or, when the
/// caller knows it from its previous batch (the group committer does), taken from there: one round
/// trip per batch while nobody else writes the row. The group committer writes one batch per SKU at
/// a time, so every round trip of a batch delays all the orders queued behind it.
public struct OrderBatchWriter: Sendable {
    public static let maximumAttempts = 12

    let connections: any PostgresConnectionSource
    let logger: Logger

    /// - Parameter connections: the pool, or ``OrderWriteConnections`` on the service's hot path.
    public init(connections: any PostgresConnectionSource, logger: Logger) {
        self.connections = connections
        self.logger = logger
    }

    public enum WriteError: Error, Equatable {
        /// PostgreSQL has less stock than Redis handed out: Redis is ahead of the record; reconcile.
        case stockOfRecordShort(sku: String, available: Int64, requested: Int64)
        case unknownItem(sku: String)
        case tooMuchContention(attempts: Int)
        /// An order's write window passed (``PendingOrder/writeBy``) before this attempt could start.
        case writeWindowPassed
        /// PostgreSQL's per-shopper units (`shopper_units`) refused the batch: an order of it would
        /// take its shopper past the SKU's limit, which Redis let through (it lost or disagrees with
        /// the record). Nothing was written; alone, only the offending orders meet this again.
        case perShopperLimitOfRecord(sku: String)
    }

    /// Whether PostgreSQL answered the write with an error (or it never started): then nothing of
    /// it was written. Anything else, a connection that failed mid-statement above all, leaves the
    /// outcome unknown: the statement may have committed with its reply lost. See ``settle(_:)``.
    public static func wroteNothing(_ error: any Error) -> Bool {
        switch error {
        case is WriteError, is PostgresConnectionUnavailable: true
        case let error as PSQLError: error.code == .server
        default: false
        }
    }

    /// Whether PostgreSQL refused the write for waiting too long for a lock (`lock_timeout`) or
    /// cancelled it: nothing was written, and each order of the batch alone would wait just as long.
    public static func waitedTooLong(_ error: any Error) -> Bool {
        ["55P03", "57014"].contains(PostgresErrorText.sqlState(error) ?? "")
    }

    /// After a write whose outcome is unknown: the batch's orders that are committed, and the row's
    /// version. The row is fenced first (its version bumped under its lock), so a statement of the
    /// lost write still waiting for the lock finds its expected version gone and writes nothing, and
    /// one that committed before is seen by the read that follows. All or none are found: a batch
    /// is one statement.
    public func settle(_ batch: [PendingOrder]) async throws -> (orders: [UUID: Order], version: Int64) {
        let first = batch[0]
        return try await connections.using { connection in
            let fenced = try await connection.query(
                """
                UPDATE inventory SET version = version + 1 WHERE sale_id = \(first.saleID) AND sku = \(first.sku)
                RETURNING version
                """, logger: logger
            ).decode(Int64.self).collectAll()
            guard let version = fenced.first else { throw WriteError.unknownItem(sku: first.sku) }
            let found = try await connection.query(
                "SELECT id, pay_by, created_at FROM orders WHERE id = ANY(\(batch.map(\.id)))", logger: logger
            ).decode((UUID, Date, Date).self).collectAll()
            let orders = Self.committed(batch, times: found)
            return (Dictionary(uniqueKeysWithValues: orders.map { ($0.id, $0) }), version)
        }
    }

    /// The orders of `batch` that `times` (id, pay_by, created_at per committed row) names.
    private static func committed(_ batch: [PendingOrder], times: [(UUID, Date, Date)]) -> [Order] {
        let times = Dictionary(uniqueKeysWithValues: times.map { ($0.0, ($0.1, $0.2)) })
        return batch.compactMap { pending in
            guard let (payBy, createdAt) = times[pending.id] else { return nil }
            return Order(
                id: pending.id, saleID: pending.saleID, sku: pending.sku, shopperID: pending.shopperID,
                quantity: pending.quantity, amountCents: pending.amountCents, status: .reserved, payBy: payBy,
                createdAt: createdAt, version: 0)
        }
    }

    /// Committed orders, in the order given, and the inventory row's version after them.
    public struct Written: Sendable {
        public let orders: [Order]
        public let version: Int64
    }

    /// All orders must be of one sale and SKU. Returns them committed, in the same order.
    public func write(_ batch: [PendingOrder]) async throws -> [Order] {
        try await write(batch, expectedVersion: nil).orders
    }

    /// With `expectedVersion`, the first attempt skips reading the row; if the version moved, the
    /// row is read and the write retried as usual.
    public func write(_ batch: [PendingOrder], expectedVersion: Int64?) async throws -> Written {
        precondition(!batch.isEmpty)
        if let expectedVersion, let written = try await writeOnce(batch, version: expectedVersion) {
            return written
        }
        for attempt in 1...Self.maximumAttempts {
            if let written = try await writeOnce(batch, version: nil) { return written }
            // Back off a random while, growing with the attempts, so colliding writers spread out.
            let ceiling = min(1 << attempt, 64)
            try await Task.sleep(for: .microseconds(Int.random(in: 0...(ceiling * 500))))
        }
        throw WriteError.tooMuchContention(attempts: Self.maximumAttempts)
    }

    /// Nil when the version was not the expected one (nothing written).
    private func writeOnce(_ batch: [PendingOrder], version known: Int64?) async throws -> Written? {
        // Past it, the worker may be giving these units back in Redis: writing now could sell them twice.
        guard batch.allSatisfy({ $0.writeBy > .now }) else { throw WriteError.writeWindowPassed }
        let first = batch[0]
        let total = batch.reduce(Int64(0)) { $0 + $1.quantity }
        return try await connections.using { connection in
            let version: Int64
            if let known {
                version = known
            } else {
                let current = try await connection.query(
                    "SELECT available::bigint, version FROM inventory WHERE sale_id = \(first.saleID) AND sku = \(first.sku)",
                    logger: logger
                ).decode((Int64, Int64).self).collectAll()
                guard let (available, read) = current.first else { throw WriteError.unknownItem(sku: first.sku) }
                guard available >= total else {
                    throw WriteError.stockOfRecordShort(sku: first.sku, available: available, requested: total)
                }
                version = read
            }

            // No row back means the version moved (or the stock fell short) since the read: nothing was written.
            let rows: [InsertOrderBatch.Row]
            do {
                rows = try await connection.execute(
                    InsertOrderBatch(batch: batch, total: total, version: version), logger: logger
                ).collectAll()
            } catch let error where PostgresErrorText.constraint(error) == "shopper_units_within_limit" {
                throw WriteError.perShopperLimitOfRecord(sku: first.sku)
            }
            guard let newVersion = rows.first?.3 else { return nil }
            return Written(orders: Self.committed(batch, times: rows.map { ($0.0, $0.1, $0.2) }), version: newVersion)
        }
    }
}

/// The write of one batch, prepared once per connection: planning this statement costs about as
/// much as running it, and the group committer runs it once per batch on the hot path.
struct InsertOrderBatch: PostgresPreparedStatement {
    /// Given, not derived: the default name reflects on the type at every execution.
    static let name = "flashsale_insert_order_batch"
    static let sql = """
        WITH updated AS (
            UPDATE inventory SET available = available - $3, version = version + 1
            WHERE sale_id = $1 AND sku = $2 AND version = $4 AND available >= $3
            RETURNING version
        ), inserted AS (
            INSERT INTO orders (id, sale_id, sku, shopper_id, quantity, amount_cents, status, checkout_token, pay_by, email)
            SELECT unnest($5::uuid[]), $1, $2, unnest($6::text[]), unnest($7::bigint[])::int, unnest($8::bigint[]),
                   'reserved', unnest($9::text[]), now() + make_interval(secs => $10), NULLIF(unnest($11::text[]), '')
            WHERE EXISTS (SELECT 1 FROM updated)
            RETURNING id, pay_by, created_at, email
        ), units_added AS (
            -- Invariant 3 in the stock of record: the CHECK on `shopper_units` fails the whole
            -- statement when an order would take its shopper past the limit Redis should have held.
            INSERT INTO shopper_units AS held (sale_id, sku, shopper_id, units, unit_limit)
            SELECT $1, $2, b.shopper_id, sum(b.quantity)::int,
                   (SELECT per_shopper_limit FROM inventory WHERE sale_id = $1 AND sku = $2)
            FROM unnest($6::text[], $7::bigint[]) AS b(shopper_id, quantity)
            WHERE EXISTS (SELECT 1 FROM updated)
            GROUP BY b.shopper_id
            ON CONFLICT (sale_id, sku, shopper_id)
            DO UPDATE SET units = held.units + excluded.units, unit_limit = excluded.unit_limit
        ), jobs_added AS (
            INSERT INTO jobs (kind, payload, dedupe_key, run_at)
            SELECT 'order_expiry', jsonb_build_object('order_id', id), 'order_expiry:' || id, pay_by FROM inserted
            UNION ALL
            SELECT 'email', jsonb_build_object('order_id', id, 'event', 'order_reserved'),
                   'email:' || id || ':order_reserved', now() FROM inserted WHERE email IS NOT NULL
        )
        SELECT id, pay_by, created_at, (SELECT version FROM updated) FROM inserted
        """
    typealias Row = (UUID, Date, Date, Int64)

    let batch: [PendingOrder]
    let total: Int64
    let version: Int64

    func makeBindings() throws -> PostgresBindings {
        let first = batch[0]
        var bindings = PostgresBindings(capacity: 11)
        bindings.append(first.saleID)
        bindings.append(first.sku)
        bindings.append(total)
        bindings.append(version)
        bindings.append(batch.map(\.id))
        bindings.append(batch.map(\.shopperID))
        bindings.append(batch.map(\.quantity))
        bindings.append(batch.map(\.amountCents))
        bindings.append(batch.map(\.checkoutToken))
        bindings.append(Double(first.paymentWindowSeconds))
        // Empty for none: a text[] binding carries no NULLs.
        bindings.append(batch.map { $0.email ?? "" })
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Row {
        try row.decode(Row.self)
    }
}
