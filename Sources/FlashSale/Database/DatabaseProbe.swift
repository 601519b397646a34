import Logging
import NIOPosix
import PostgresNIO

/// Opens and closes one connection, so commands fail at start with the server's own reason
/// ("connection refused", "database does not exist") instead of waiting on a pool that keeps retrying.
public enum DatabaseProbe {
    public static func check(_ url: DatabaseURL, logger: Logger) async throws(ConfigurationError) {
        let configuration = PostgresConnection.Configuration(
            host: url.host, port: url.port, username: url.username, password: url.password,
            database: url.database, tls: url.requireTLS ? .require(try! .init(configuration: .makeClientConfiguration())) : .disable)
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
