import Logging
import NIOPosix
import PostgresNIO

/// Opens and closes one connection, so commands fail at start with the server's own reason
/// ("connection refused", "database does not exist") instead of waiting on a pool that keeps retrying.
public enum DatabaseProbe {
    public static func check(_ url: DatabaseURL, logger: Logger) async throws(ConfigurationError) {
        var configuration = url.connectionConfiguration()
        configuration.options.connectTimeout = .seconds(10)
        do {
            let connection = try await PostgresConnection.connect(
                on: MultiThreadedEventLoopGroup.singleton.next(), configuration: configuration, id: 0, logger: logger)
            try await connection.close()
        } catch {
            throw ConfigurationError(
                "DATABASE_URL",
                "cannot connect to PostgreSQL at \(url.host):\(url.port)/\(url.database): \(PostgresErrorText.describe(error))")
        }
    }
}
