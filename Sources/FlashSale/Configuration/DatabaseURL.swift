import Foundation
import PostgresNIO

/// `DATABASE_URL` in the usual form `postgres://user[:password]@host[:port]/database[?sslmode=disable|require]`.
public struct DatabaseURL: Sendable, Equatable {
    public var host: String
    public var port: Int
    public var username: String
    public var password: String?
    public var database: String
    public var requireTLS: Bool

    public init(_ text: String) throws(ConfigurationError) {
        guard let components = URLComponents(string: text),
            let scheme = components.scheme, ["postgres", "postgresql"].contains(scheme)
        else {
            throw ConfigurationError("DATABASE_URL", "'\(text)' is not a postgres://user@host:port/database URL")
        }
        guard let host = components.host, !host.isEmpty else {
            throw ConfigurationError("DATABASE_URL", "'\(text)' names no host")
        }
        guard let user = components.user, !user.isEmpty else {
            throw ConfigurationError("DATABASE_URL", "'\(text)' names no user")
        }
        let database = String(components.path.drop { $0 == "/" })
        guard !database.isEmpty else {
            throw ConfigurationError("DATABASE_URL", "'\(text)' names no database")
        }
        let sslmode = components.queryItems?.first { $0.name == "sslmode" }?.value ?? "disable"
        guard ["disable", "require"].contains(sslmode) else {
            throw ConfigurationError("DATABASE_URL", "sslmode '\(sslmode)' must be disable or require")
        }
        self.host = host
        self.port = components.port ?? 5432
        self.username = components.user?.removingPercentEncoding ?? user
        self.password = components.password?.removingPercentEncoding
        self.database = database
        self.requireTLS = sslmode == "require"
    }

    public func clientConfiguration(maxConnections: Int) -> PostgresClient.Configuration {
        var configuration = PostgresClient.Configuration(
            host: host, port: port, username: username, password: password, database: database,
            tls: requireTLS ? .require(.makeClientConfiguration()) : .disable)
        configuration.options.maximumConnections = maxConnections
        configuration.options.connectTimeout = .seconds(2)
        return configuration
    }

    /// For a single connection outside the pool; `applicationName` shows in `pg_stat_activity`.
    public func connectionConfiguration(applicationName: String? = nil) -> PostgresConnection.Configuration {
        var configuration = PostgresConnection.Configuration(
            host: host, port: port, username: username, password: password, database: database,
            tls: requireTLS ? .require(try! .init(configuration: .makeClientConfiguration())) : .disable)
        configuration.options.connectTimeout = .seconds(2)
        if let applicationName {
            configuration.options.additionalStartupParameters = [("application_name", applicationName)]
        }
        return configuration
    }
}
