import Foundation
import Logging
import NIOCore
import PostgresNIO
import Synchronization

/// Loads a sale and its inventory: all of PostgreSQL in one transaction (the rows stream in with
/// COPY), then the Redis stock. The input is checked completely before anything commits, so a bad
/// file writes nothing, and a second run with the same input changes nothing.
public struct SaleSeeder: Sendable {
    let postgres: PostgresClient
    let stock: StockPriming
    let logger: Logger

    public init(postgres: PostgresClient, stock: StockPriming, logger: Logger) {
        self.postgres = postgres
        self.stock = stock
        self.logger = logger
    }

    /// A stock change of one SKU on a sale that has started.
    struct LiveChange: Sendable {
        let sku: String
        let delta: Int64
    }

    struct Plan: Sendable {
        var report: SeedReport
        /// The sale had started before this seed: Redis holds live deductions that must not be overwritten.
        var wasLive: Bool
        var liveChanges: [LiveChange]
        var removedSKUs: [String]
    }

    public func seed(
        _ sale: SaleDefinition, from source: InventorySource, force: Bool = false,
        progress: any SeedProgress = SilentSeedProgress(), now: Date = Date()
    ) async throws -> SeedReport {
        try sale.validate()
        let withdrawn = Mutex<[LiveChange]>([])
        let plan: Plan
        do {
            plan = try await postgres.withTransaction(logger: logger) { connection in
                let clock = ContinuousClock.now
                let input = try await copyRows(from: source, into: connection, progress: progress)
                logger.debug("rows copied", metadata: ["rows": "\(input.rows)", "elapsed": "\(ContinuousClock.now - clock)"])
                progress.report(.writing, done: 0, total: Int64(input.rows))
                var plan = try await compare(sale, input: input, force: force, now: now, on: connection)
                logger.debug("compared", metadata: ["elapsed": "\(ContinuousClock.now - clock)"])
                try await write(sale, plan: &plan, on: connection)
                logger.debug("written", metadata: ["elapsed": "\(ContinuousClock.now - clock)"])
                progress.report(.writing, done: Int64(input.rows), total: Int64(input.rows))
                if plan.wasLive {
                    // Units leave Redis before PostgreSQL commits, as a purchase would take them, so
                    // a concurrent shopper can never buy a unit this change removes.
                    let decreases = plan.liveChanges.filter { $0.delta < 0 }
                    if let short = try await stock.withdraw(
                        saleID: sale.id, decreases.map { ($0.sku, -$0.delta) })
                    {
                        throw SeedInputError(
                            "\(short): fewer unsold units in Redis than the change removes (some may be in checkout); nothing was written"
                        )
                    }
                    withdrawn.withLock { $0 = decreases }
                }
                return plan
            }
        } catch {
            let giveBack = withdrawn.withLock { $0 }
            if !giveBack.isEmpty {
                try? await stock.adjust(saleID: sale.id, giveBack.map { ($0.sku, -$0.delta) })
            }
            // postgres-nio wraps what the transaction's body threw; operators need the reason itself.
            throw PostgresErrorText.unwrapped(error)
        }
        let clock = ContinuousClock.now
        try await primeRedis(sale.id, plan: plan, progress: progress)
        logger.debug("redis primed", metadata: ["elapsed": "\(ContinuousClock.now - clock)"])
        return plan.report
    }

    /// Streams the input into a temporary table with COPY; every row is validated on the way.
    private func copyRows(from source: InventorySource, into connection: PostgresConnection, progress: any SeedProgress)
        async throws -> (rows: Int, units: Int64)
    {
        try await connection.query(
            """
            CREATE TEMP TABLE seed_rows (line integer NOT NULL, sku text NOT NULL, name text NOT NULL,
              price_cents bigint NOT NULL, stock integer NOT NULL, per_shopper_limit integer NOT NULL) ON COMMIT DROP
            """, logger: logger)
        var count = 0
        var units: Int64 = 0
        try await connection.copyFrom(
            table: "seed_rows", columns: ["line", "sku", "name", "price_cents", "stock", "per_shopper_limit"],
            logger: logger
        ) { writer in
            var buffer = ByteBuffer()
            buffer.reserveCapacity(1 << 20)
            try await source.forEachBatch(progress: { progress.report(.reading, done: $0, total: $1) }) { rows in
                for row in rows {
                    CopyText.append(row, to: &buffer)
                    units += Int64(row.stock)
                }
                count += rows.count
                if buffer.readableBytes >= 1 << 20 {
                    try await writer.write(buffer)
                    buffer.clear()
                }
            }
            if buffer.readableBytes > 0 { try await writer.write(buffer) }
        }
        guard count > 0 else { throw SeedInputError("the input has no inventory rows") }
        return (count, units)
    }

    /// Checks the rows against what PostgreSQL has and decides what changes. A new sale has
    /// nothing to compare with: its duplicate SKUs surface when the rows are inserted.
    private func compare(
        _ sale: SaleDefinition, input: (rows: Int, units: Int64), force: Bool, now: Date, on connection: PostgresConnection
    ) async throws -> Plan {
        let rows = input.rows
        let startsAt = try await connection.query(
            "SELECT starts_at FROM sales WHERE id = \(sale.id) FOR UPDATE", logger: logger
        ).decode(Date.self).collectAll().first
        guard let startsAt else {
            return Plan(
                report: SeedReport(
                    sale: .created, rows: rows, skusAdded: rows, skusChanged: 0, skusRemoved: 0, liveStockChanges: 0,
                    totalUnits: input.units),
                wasLive: false, liveChanges: [], removedSKUs: [])
        }
        // Before comparing with what is there, so a repeated SKU is reported as such.
        try await rejectDuplicates(on: connection)
        let wasLive = startsAt <= now

        let totals =
            try await connection.query(
                """
                SELECT count(*) FILTER (WHERE i.sku IS NULL),
                       count(*) FILTER (WHERE i.sku IS NOT NULL AND (i.name, i.price_cents, i.per_shopper_limit, i.initial_stock)
                                         IS DISTINCT FROM (s.name, s.price_cents, s.per_shopper_limit, s.stock)),
                       coalesce(sum(s.stock), 0)::bigint
                FROM seed_rows s LEFT JOIN inventory i ON i.sale_id = \(sale.id) AND i.sku = s.sku
                """, logger: logger
            ).decode((Int64, Int64, Int64).self).collectAll().first ?? (Int64(0), Int64(0), Int64(0))
        let removed = try await connection.query(
            """
            SELECT i.sku FROM inventory i WHERE i.sale_id = \(sale.id)
              AND NOT EXISTS (SELECT 1 FROM seed_rows s WHERE s.sku = i.sku) ORDER BY i.sku
            """, logger: logger
        ).decode(String.self).collectAll()

        var plan = Plan(
            report: SeedReport(
                sale: .unchanged, rows: rows, skusAdded: Int(totals.0),
                skusChanged: Int(totals.1), skusRemoved: removed.count, liveStockChanges: 0, totalUnits: totals.2),
            wasLive: wasLive, liveChanges: [], removedSKUs: removed)
        guard wasLive else { return plan }

        if !removed.isEmpty {
            throw SeedInputError(
                "sale \(sale.id) has started, so SKUs cannot be removed (not in the input: \(Self.list(removed))); set their stock to 0 instead"
            )
        }
        // Stock changes on a started sale: new SKUs and changed stock, in input order.
        let changes = try await connection.query(
            """
            SELECT s.line, s.sku, coalesce(i.initial_stock, 0)::bigint, s.stock::bigint, coalesce(i.available, 0)::bigint
            FROM seed_rows s LEFT JOIN inventory i ON i.sale_id = \(sale.id) AND i.sku = s.sku
            WHERE i.sku IS NULL OR i.initial_stock <> s.stock ORDER BY s.line
            """, logger: logger
        ).decode((Int32, String, Int64, Int64, Int64).self).collectAll()
        guard let first = changes.first else { return plan }
        guard force else {
            throw SeedInputError(
                line: Int(first.0),
                "sale \(sale.id) has started and this input changes the stock of \(changes.count) SKU(s) (\(first.1): \(first.2) → \(first.3)); nothing was written. Rerun with --force to change both stores"
            )
        }
        for (line, sku, initial, stock, available) in changes where available + (stock - initial) < 0 {
            throw SeedInputError(
                line: Int(line),
                "cannot lower the stock of \(sku) from \(initial) to \(stock): \(initial - available) units are sold or reserved")
        }
        plan.liveChanges = changes.map { LiveChange(sku: $0.1, delta: $0.3 - $0.2) }
        plan.report.liveStockChanges = changes.count
        return plan
    }

    /// The sale row, removed SKUs and the inventory upsert. Unchanged rows are not touched, so
    /// their versions stay and a repeated seed is a no-op.
    private func write(_ sale: SaleDefinition, plan: inout Plan, on connection: PostgresConnection) async throws {
        let saleRows = try await connection.query(
            """
            INSERT INTO sales (id, name, starts_at, ends_at, payment_window)
            VALUES (\(sale.id), \(sale.name), \(sale.startsAt), \(sale.endsAt), make_interval(secs => \(Double(sale.paymentWindowSeconds))))
            ON CONFLICT (id) DO UPDATE SET name = excluded.name, starts_at = excluded.starts_at,
              ends_at = excluded.ends_at, payment_window = excluded.payment_window
            WHERE (sales.name, sales.starts_at, sales.ends_at, sales.payment_window)
              IS DISTINCT FROM (excluded.name, excluded.starts_at, excluded.ends_at, excluded.payment_window)
            RETURNING (xmax = 0)
            """, logger: logger
        ).decode(Bool.self).collectAll()
        if let inserted = saleRows.first { plan.report.sale = inserted ? .created : .updated }

        if !plan.removedSKUs.isEmpty {
            do {
                try await connection.query(
                    "DELETE FROM inventory WHERE sale_id = \(sale.id) AND sku = ANY(\(plan.removedSKUs))", logger: logger)
            } catch let error as PSQLError where error.serverInfo?[.sqlState] == "23503" {
                throw SeedInputError(
                    "SKUs missing from the input have orders and cannot be removed (\(Self.list(plan.removedSKUs)))")
            }
        }
        // A repeated SKU makes the insert fail (unique key, or "cannot affect row a second time");
        // the savepoint keeps the transaction usable to find the lines and say which.
        try await connection.query("SAVEPOINT inventory_rows", logger: logger)
        do {
            try await insertInventory(sale.id, updatingExisting: plan.report.sale != .created, on: connection)
        } catch let error as PSQLError where ["23505", "21000"].contains(error.serverInfo?[.sqlState] ?? "") {
            try await connection.query("ROLLBACK TO SAVEPOINT inventory_rows", logger: logger)
            try await rejectDuplicates(on: connection)
            throw error
        }
        // In the same transaction as the items, so a catalog that sees the new version loads the new items.
        let itemsChanged = plan.report.skusAdded + plan.report.skusChanged + plan.report.skusRemoved > 0
        if plan.report.sale != .created && itemsChanged {
            try await connection.query(
                "UPDATE sales SET catalog_version = catalog_version + 1 WHERE id = \(sale.id)", logger: logger)
        }
    }

    /// A new sale's rows are plainly inserted: with nothing to update, ON CONFLICT's speculative
    /// insertion per row is pure cost. An existing sale's rows are upserted where they differ.
    private func insertInventory(_ saleID: String, updatingExisting: Bool, on connection: PostgresConnection)
        async throws
    {
        let onConflict =
            updatingExisting
            ? """
            ON CONFLICT (sale_id, sku) DO UPDATE SET name = excluded.name, price_cents = excluded.price_cents,
              per_shopper_limit = excluded.per_shopper_limit, initial_stock = excluded.initial_stock,
              available = inventory.available + (excluded.initial_stock - inventory.initial_stock),
              version = inventory.version + (excluded.initial_stock <> inventory.initial_stock)::int
            WHERE (inventory.name, inventory.price_cents, inventory.per_shopper_limit, inventory.initial_stock)
              IS DISTINCT FROM (excluded.name, excluded.price_cents, excluded.per_shopper_limit, excluded.initial_stock)
            """ : ""
        try await connection.query(
            """
            INSERT INTO inventory (sale_id, sku, name, price_cents, initial_stock, available, per_shopper_limit)
            SELECT \(saleID), sku, name, price_cents, stock, stock, per_shopper_limit FROM seed_rows
            \(unescaped: onConflict)
            """, logger: logger)
    }

    /// Redis after the commit. Before its start nobody can have bought, so the stock of record is
    /// written as is; on a started sale only the forced changes are applied and missing keys filled.
    private func primeRedis(_ saleID: String, plan: Plan, progress: any SeedProgress) async throws {
        if plan.wasLive {
            try await stock.adjust(saleID: saleID, plan.liveChanges.filter { $0.delta > 0 }.map { ($0.sku, $0.delta) })
        } else {
            try await stock.remove(saleID: saleID, skus: plan.removedSKUs)
        }
        let total = Int64(plan.report.rows)
        var done: Int64 = 0
        let rows = try await postgres.query(
            "SELECT sku, available::bigint FROM inventory WHERE sale_id = \(saleID)", logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            var batch: [(sku: String, units: Int64)] = []
            var inFlight = 0
            func flush() async throws {
                if inFlight >= 8 {
                    try await group.next()
                    inFlight -= 1
                }
                let stocks = batch
                let overwrite = !plan.wasLive
                group.addTask { try await stock.set(saleID: saleID, stocks, overwrite: overwrite) }
                inFlight += 1
                done += Int64(batch.count)
                batch.removeAll(keepingCapacity: true)
                progress.report(.priming, done: done, total: total)
            }
            for try await (sku, units) in rows.decode((String, Int64).self) {
                batch.append((sku, units))
                if batch.count == StockPriming.batchSize { try await flush() }
            }
            if !batch.isEmpty { try await flush() }
            try await group.waitForAll()
        }
        try await stock.markPrimed(saleID: saleID)
    }

    private func rejectDuplicates(on connection: PostgresConnection) async throws {
        let duplicate = try await connection.query(
            """
            SELECT sku, (array_agg(line ORDER BY line))[1], (array_agg(line ORDER BY line))[2]
            FROM seed_rows GROUP BY sku HAVING count(*) > 1 ORDER BY 3 LIMIT 1
            """, logger: logger
        ).decode((String, Int32, Int32).self).collectAll().first
        if let (sku, first, second) = duplicate {
            throw SeedInputError(line: Int(second), "SKU \(sku) appears again (first on line \(first))")
        }
    }

    private static func list(_ skus: [String]) -> String {
        skus.prefix(5).joined(separator: ", ") + (skus.count > 5 ? " and \(skus.count - 5) more" : "")
    }
}
