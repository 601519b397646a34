import Foundation
import PostgresNIO
import RedisClient

/// `DATABASE_URL` in the usual form `postgres://user[:password]@host[:port]/database[?sslmode=disable|require]`.
public struct DatabaseURL: Sendable, Equatable {
    public var host: String
    public var port: Int
    public var username: String
    public var password: String?
    public var database: String
    public var requireTLS: Bool

    public init(_ text: String) throws(ConfigurationError) {
        // Errors quote the URL as given, but never its password.
        let shown = URLRedaction.redacted(text)
        guard let components = URLComponents(string: text),
            let scheme = components.scheme, ["postgres", "postgresql"].contains(scheme)
        else {
            throw ConfigurationError("DATABASE_URL", "'\(shown)' is not a postgres://user@host:port/database URL")
        }
        guard let host = components.host, !host.isEmpty else {
            throw ConfigurationError("DATABASE_URL", "'\(shown)' names no host")
        }
        guard let user = components.user, !user.isEmpty else {
            throw ConfigurationError("DATABASE_URL", "'\(shown)' names no user")
        }
        let database = String(components.path.drop { $0 == "/" })
        guard !database.isEmpty else {
            throw ConfigurationError("DATABASE_URL", "'\(shown)' names no database")
        }
        let sslmode = components.queryItems?.first { $0.name == "sslmode" }?.value ?? "disable"
        guard ["disable", "require"].contains(sslmode) else {
            throw ConfigurationError("DATABASE_URL", "sslmode '\(sslmode)' must be disable or require")
        }
        let port = components.port ?? 5432
        guard (1...65535).contains(port) else {
            throw ConfigurationError("DATABASE_URL", "port \(port) in '\(shown)' is not between 1 and 65535")
        }
        self.host = host
        self.port = port
        self.username = components.user?.removingPercentEncoding ?? user
        self.password = components.password?.removingPercentEncoding
        self.database = database
        self.requireTLS = sslmode == "require"
    }

    /// The pool of a command. `alwaysOpen` (the service and the worker: long-running, thousands of
    /// queries a second) opens every connection up front and keeps it, with no keep-alive pings.
    ///
    /// Why: postgres-nio's pool arms a keep-alive timer (30 s), and an idle timer (60 s) for each
    /// connection above the minimum, every time a connection goes back to the pool, and cancels
    /// them at the next lease. A cancelled `Task.sleep` keeps its memory until its deadline, so at
    /// 2,000 queries a second that held about 70 MB (measured: +85 MB of RSS over 100,000 sale
    /// reads). With every connection part of the minimum and no keep-alive, no timer is armed. A
    /// connection that dies while idle is then found by the query that uses it (one failed
    /// request, and the pool reconnects), not by a ping.
    public func clientConfiguration(maxConnections: Int, alwaysOpen: Bool = false) -> PostgresClient.Configuration {
        var configuration = PostgresClient.Configuration(
            host: host, port: port, username: username, password: password, database: database,
            tls: requireTLS ? .require(.makeClientConfiguration()) : .disable)
        configuration.options.maximumConnections = maxConnections
        configuration.options.connectTimeout = .seconds(2)
        if alwaysOpen {
            configuration.options.minimumConnections = maxConnections
            configuration.options.keepAliveBehavior = nil
        }
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
