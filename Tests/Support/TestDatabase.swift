import FlashSale
import Foundation
import Logging
import PostgresNIO

/// A brand-new, empty PostgreSQL database on the test server, dropped afterwards.
/// The server is the one `DATABASE_URL` names (set by `make test`).
public enum TestDatabase {
    public static let logger = Logger(label: "test")

    public static var serverURLText: String {
        ProcessInfo.processInfo.environment["DATABASE_URL"] ?? "postgres://flashsale@127.0.0.1:55432/flashsale_test"
    }

    public static var serverURL: DatabaseURL {
        get throws { try DatabaseURL(serverURLText) }
    }

    public static func withFreshDatabase<T: Sendable>(
        _ body: @Sendable (DatabaseURL, PostgresClient) async throws -> T
    ) async throws -> T {
        let server = try serverURL
        let name = "fs_test_\(UInt64.random(in: 0..<UInt64.max))"
        try await withPostgres(server) { admin in
            try await admin.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"), logger: logger)
        }
        var fresh = server
        fresh.database = name
        let url = fresh
        do {
            let result = try await withPostgres(url) { try await body(url, $0) }
            try await drop(name, on: server)
            return result
        } catch {
            try? await drop(name, on: server)
            throw error
        }
    }

    @discardableResult
    public static func withPostgres<T: Sendable>(
        _ url: DatabaseURL, _ body: @Sendable (PostgresClient) async throws -> T
    ) async throws -> T {
        let client = PostgresClient(configuration: url.clientConfiguration(maxConnections: 4), backgroundLogger: logger)
        return try await client.whileRunning(body)
    }

    static func drop(_ name: String, on server: DatabaseURL) async throws {
        try await withPostgres(server) { admin in
            try await admin.query(PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(name) WITH (FORCE)"), logger: logger)
        }
    }

    /// The repository's own `Migrations/`, as built into the binary.
    public static var migrations: [Migration] {
        get throws { try Migration.embedded() }
    }
}
