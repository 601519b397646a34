import FlashSale
import FlashSaleTestSupport
import Foundation
import Logging
import PostgresNIO
import RedisClient

/// A fresh, migrated database and a private redis-server for one operator-command test, with the
/// environment that points the `flashsale` binary at them.
struct OperatorStores: Sendable {
    let environment: [String: String]
    let postgres: PostgresClient
    let redis: RedisClient

    @discardableResult
    static func with<T: Sendable>(_ body: @escaping @Sendable (OperatorStores) async throws -> T) async throws -> T {
        try await TestDatabase.withFreshDatabase { url, postgres in
            try await Migrator(client: postgres, logger: TestDatabase.logger).migrate(try TestDatabase.migrations)
            let server = try await TestRedisServer()
            // Killed on deinit too, if the body throws.
            let result = try await withClient(server.configuration) { redis in
                let environment = [
                    "DATABASE_URL": "postgres://\(url.username)@\(url.host):\(url.port)/\(url.database)",
                    "REDIS_URL": "redis://127.0.0.1:\(server.port)/0",
                ]
                return try await body(OperatorStores(environment: environment, postgres: postgres, redis: redis))
            }
            await server.stop()
            return result
        }
    }

    func flashsale(_ arguments: [String]) async throws -> FlashsaleBinary.Outcome {
        try await FlashsaleBinary.run(arguments, environment: environment)
    }

    /// (sku, name, price, initial stock, available, limit, version) of a sale, by SKU.
    func inventory(_ saleID: String) async throws -> [String: (String, Int64, Int64, Int64, Int64, Int64)] {
        var rows: [String: (String, Int64, Int64, Int64, Int64, Int64)] = [:]
        let result = try await postgres.query(
            """
            SELECT sku, name, price_cents, initial_stock::bigint, available::bigint, per_shopper_limit::bigint, version
            FROM inventory WHERE sale_id = \(saleID)
            """, logger: TestDatabase.logger)
        for try await (sku, name, price, stock, available, limit, version) in result.decode(
            (String, String, Int64, Int64, Int64, Int64, Int64).self)
        {
            rows[sku] = (name, price, stock, available, limit, version)
        }
        return rows
    }

    /// The sale's catalog version (nil: no such sale).
    func catalogVersion(_ saleID: String) async throws -> Int64? {
        try await postgres.query("SELECT catalog_version FROM sales WHERE id = \(saleID)", logger: TestDatabase.logger)
            .decode(Int64.self).collectAll().first
    }

    func count(_ table: String) async throws -> Int64 {
        try await postgres.query(PostgresQuery(unsafeSQL: "SELECT count(*) FROM \(table)"), logger: TestDatabase.logger)
            .decode(Int64.self).collectAll()[0]
    }

    func redisStock(_ saleID: String, _ sku: String) async throws -> Int64? {
        try await redis.send("GET", .string(RedisKeys(saleID: saleID).stock(sku))).integer
    }

    func redisKeyCount() async throws -> Int64 {
        try await redis.send("DBSIZE").integer ?? -1
    }
}

/// A file in a temporary folder, removed by the caller's `defer`.
struct TemporaryFile {
    let path: String

    init(_ name: String, _ contents: String) throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("fs-\(UInt64.random(in: 0..<UInt64.max))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        path = folder.appendingPathComponent(name).path
        try contents.write(toFile: path, atomically: true, encoding: .utf8)
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: URL(fileURLWithPath: path).deletingLastPathComponent().path)
    }
}
