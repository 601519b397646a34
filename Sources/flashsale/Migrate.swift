import ArgumentParser
import FlashSale
import Foundation

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Apply the SQL migrations PostgreSQL does not have yet.",
        discussion: """
            Each migration runs in its own transaction and is recorded in schema_migrations.
            Safe to run twice, and from several machines at once: an advisory lock serialises them.
            """)

    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        try await reportingFailures {
            let configuration = try connection.configuration(requireSecret: false)
            let migrations = try connection.migrations()
            let logger = try AppLogger.make("flashsale.migrate")
            let applied = try await Stores.withPostgres(configuration, maxConnections: 2, logger: logger) { client in
                try await Migrator(client: client, logger: logger).migrate(migrations)
            }
            if applied.isEmpty {
                print("Database is up to date (\(migrations.count) migrations).")
            } else {
                for migration in applied { print("Applied \(migration.version)_\(migration.name)") }
            }
        }
    }
}
