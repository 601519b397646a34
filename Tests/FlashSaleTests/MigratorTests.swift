import FlashSale
import FlashSaleTestSupport
import PostgresNIO
import Testing

@Suite("Migrations against a real PostgreSQL")
struct MigratorTests {
    @Test func secondRunIsANoOp() async throws {
        let migrations = try TestDatabase.migrations
        #expect(!migrations.isEmpty)
        try await TestDatabase.withFreshDatabase { _, client in
            let migrator = Migrator(client: client, logger: TestDatabase.logger)
            let first = try await migrator.migrate(migrations)
            #expect(first.map(\.version) == migrations.map(\.version))
            let second = try await migrator.migrate(migrations)
            #expect(second.isEmpty)
            let recorded = try await client.query("SELECT count(*) FROM schema_migrations", logger: TestDatabase.logger)
                .decode(Int.self).collectAll()
            #expect(recorded == [migrations.count])
        }
    }

    @Test func instancesStartingTogetherApplyEachMigrationOnce() async throws {
        let migrations = try TestDatabase.migrations
        try await TestDatabase.withFreshDatabase { _, client in
            let appliedCounts = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<4 {
                    group.addTask {
                        try await Migrator(client: client, logger: TestDatabase.logger).migrate(migrations).count
                    }
                }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            #expect(appliedCounts.reduce(0, +) == migrations.count)
            #expect(appliedCounts.filter { $0 > 0 }.count == 1)
        }
    }

    @Test func aFailingMigrationIsRolledBackWhole() async throws {
        let broken = [
            Migration(version: 1, name: "good", sql: "CREATE TABLE good (id int);"),
            Migration(version: 2, name: "bad", sql: "CREATE TABLE half (id int); SELECT * FROM no_such_table;"),
        ]
        try await TestDatabase.withFreshDatabase { _, client in
            let migrator = Migrator(client: client, logger: TestDatabase.logger)
            let error = await #expect(throws: MigrationError.self) { try await migrator.migrate(broken) }
            #expect("\(error!)".contains("no_such_table"))
            let tables = try await client.query(
                "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1",
                logger: TestDatabase.logger
            ).decode(String.self).collectAll()
            #expect(tables == ["good", "schema_migrations"])
        }
    }

    @Test func schemaEnforcesTheStockInvariant() async throws {
        let migrations = try TestDatabase.migrations
        try await TestDatabase.withFreshDatabase { _, client in
            try await Migrator(client: client, logger: TestDatabase.logger).migrate(migrations)
            try await client.query(
                """
                INSERT INTO sales (id, name, starts_at, ends_at) VALUES ('s1', 'Sale', now(), now() + interval '1 hour')
                """, logger: TestDatabase.logger)
            try await client.query(
                """
                INSERT INTO inventory (sale_id, sku, name, price_cents, initial_stock, available, per_shopper_limit)
                VALUES ('s1', 'sku-1', 'Thing', 1999, 10, 10, 2)
                """, logger: TestDatabase.logger)
            await #expect(throws: PSQLError.self) {
                try await client.query(
                    "UPDATE inventory SET available = available - 11 WHERE sku = 'sku-1'", logger: TestDatabase.logger)
            }
            let insertOrder: @Sendable (String) async throws -> Void = { id in
                try await client.query(
                    """
                    INSERT INTO orders (id, sale_id, sku, shopper_id, quantity, amount_cents, status, checkout_token, pay_by)
                    VALUES (\(id)::uuid, 's1', 'sku-1', 'shopper', 1, 1999, 'reserved', 'token-1', now())
                    """, logger: TestDatabase.logger)
            }
            try await insertOrder("00000000-0000-0000-0000-000000000001")
            // One order per checkout token.
            await #expect(throws: PSQLError.self) { try await insertOrder("00000000-0000-0000-0000-000000000002") }
        }
    }
}
