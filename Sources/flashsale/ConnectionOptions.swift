import ArgumentParser
import FlashSale
import Foundation

/// Flags shared by every command that talks to the stores. Each overrides its environment variable.
struct ConnectionOptions: ParsableArguments {
    @Option(name: .customLong("database-url"), help: "PostgreSQL URL (env DATABASE_URL).")
    var databaseURL: String?

    @Option(name: .customLong("db-max-connections"), help: "PostgreSQL pool size (env DB_MAX_CONNECTIONS, default 20).")
    var databaseMaxConnections: String?

    @Option(name: .customLong("redis-url"), help: "Redis URL redis://[:password@]host:port/db (env REDIS_URL).")
    var redisURL: String?

    @Option(name: .customLong("redis-connections"), help: "Redis connections, each pipelined (env REDIS_CONNECTIONS, default 4).")
    var redisConnections: String?

    @Option(
        name: .customLong("migrations-dir"),
        help: "Folder of NNNN_name.sql files (env MIGRATIONS_DIR; default: the ones built in).")
    var migrationsDirectory: String?

    /// The environment's settings overridden by these flags and by the command's own (`moreFlags`), validated.
    func configuration(
        requireSecret: Bool, moreFlags: (inout FlashSaleConfiguration.Settings) -> Void = { _ in }
    ) throws -> FlashSaleConfiguration {
        var flags = FlashSaleConfiguration.Settings()
        flags.databaseURL = databaseURL
        flags.databaseMaxConnections = databaseMaxConnections
        flags.redisURL = redisURL
        flags.redisConnections = redisConnections
        moreFlags(&flags)
        let environment = FlashSaleConfiguration.Settings(environment: ProcessInfo.processInfo.environment)
        return try FlashSaleConfiguration(environment.overridden(by: flags), requireSecret: requireSecret)
    }

    func migrations() throws -> [Migration] {
        let configured = migrationsDirectory ?? ProcessInfo.processInfo.environment["MIGRATIONS_DIR"]
        do {
            guard let configured else { return try Migration.embedded() }
            return try Migration.load(from: URL(fileURLWithPath: configured))
        } catch {
            throw CommandFailure("\(error)")
        }
    }
}

/// A failure reported as one line on standard error, exit status 1 (2 for configuration).
struct CommandFailure: Error, CustomStringConvertible {
    let description: String
    let exitCode: Int32

    init(_ description: String, exitCode: Int32 = 1) {
        self.description = description
        self.exitCode = exitCode
    }
}

extension AsyncParsableCommand {
    /// Runs `body`, turning known failures into one line on stderr and an exit code, never a stack trace.
    func reportingFailures(_ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch let error as ConfigurationError {
            FileHandle.standardError.write(Data("flashsale: \(error)\n".utf8))
            throw ExitCode(2)
        } catch let error as CommandFailure {
            FileHandle.standardError.write(Data("flashsale: \(error)\n".utf8))
            throw ExitCode(error.exitCode)
        } catch let error as SeedInputError {
            FileHandle.standardError.write(Data("flashsale: \(error)\n".utf8))
            throw ExitCode(1)
        } catch let error as MigrationError {
            FileHandle.standardError.write(Data("flashsale: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }
}
