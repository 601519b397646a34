import Foundation
import RedisClient

/// Every setting of the service, read from the environment and validated at start.
/// Command-line flags override the environment before validation.
public struct FlashSaleConfiguration: Sendable {
    public var database: DatabaseURL
    public var databaseMaxConnections: Int
    public var redis: RedisConfiguration
    public var httpHost: String
    public var httpPort: Int
    public var jwtSecret: String
    /// Required `iss` / `aud` of shopper tokens, when set.
    public var jwtIssuer: String?
    public var jwtAudience: String?
    /// The longest lifetime (`exp - iat`) a shopper token may have.
    public var jwtMaxLifetimeSeconds: Int
    /// PostgreSQL's `lock_timeout` and `statement_timeout` for the order writes. Both stay below the
    /// 10 s after which a write connection is closed (``LedgerBound``'s reasoning depends on it).
    public var orderWriteLockTimeoutMilliseconds: Int
    public var orderWriteStatementTimeoutMilliseconds: Int
    /// The limits each route group's requests pass (`RATE_LIMITS`, `RATE_LIMITS_FILE`).
    public var rateLimits: RateLimitPolicy
    /// Whose `X-Forwarded-For` names the client (`TRUSTED_PROXIES`).
    public var trustedProxies: TrustedProxies
    /// Client addresses never rate-limited (`RATE_LIMIT_ALLOWLIST`).
    public var rateLimitAllowList: IPRanges
    /// The adaptive limit on requests in flight (`LOAD_SHEDDING`, `LOAD_SHEDDING_MAX_IN_FLIGHT`); nil: off.
    public var loadShedding: AdaptiveConcurrencyLimit.Settings?

    public static let defaultDatabaseURL = "postgres://flashsale@127.0.0.1:55432/flashsale"
    public static let defaultRedisURL = "redis://127.0.0.1:56379/0"

    /// Raw settings as text, so flags and environment variables go through one validation.
    public struct Settings: Sendable {
        public var databaseURL: String?
        public var databaseMaxConnections: String?
        public var redisURL: String?
        public var redisConnections: String?
        public var httpHost: String?
        public var httpPort: String?
        public var jwtSecret: String?
        public var jwtIssuer: String?
        public var jwtAudience: String?
        public var jwtMaxLifetimeSeconds: String?
        public var orderWriteLockTimeoutMilliseconds: String?
        public var orderWriteStatementTimeoutMilliseconds: String?
        public var rateLimits: String?
        public var rateLimitsFile: String?
        public var trustedProxies: String?
        public var rateLimitAllowList: String?
        public var loadShedding: String?
        public var loadSheddingMaxInFlight: String?

        public init() {}

        public init(environment: [String: String]) {
            databaseURL = environment["DATABASE_URL"]
            databaseMaxConnections = environment["DB_MAX_CONNECTIONS"]
            redisURL = environment["REDIS_URL"]
            redisConnections = environment["REDIS_CONNECTIONS"]
            httpHost = environment["HTTP_HOST"]
            httpPort = environment["HTTP_PORT"]
            jwtSecret = environment["JWT_SECRET"]
            jwtIssuer = environment["JWT_ISSUER"]
            jwtAudience = environment["JWT_AUDIENCE"]
            jwtMaxLifetimeSeconds = environment["JWT_MAX_LIFETIME_SECONDS"]
            orderWriteLockTimeoutMilliseconds = environment["ORDER_WRITE_LOCK_TIMEOUT_MS"]
            orderWriteStatementTimeoutMilliseconds = environment["ORDER_WRITE_STATEMENT_TIMEOUT_MS"]
            rateLimits = environment["RATE_LIMITS"]
            rateLimitsFile = environment["RATE_LIMITS_FILE"]
            trustedProxies = environment["TRUSTED_PROXIES"]
            rateLimitAllowList = environment["RATE_LIMIT_ALLOWLIST"]
            loadShedding = environment["LOAD_SHEDDING"]
            loadSheddingMaxInFlight = environment["LOAD_SHEDDING_MAX_IN_FLIGHT"]
        }

        /// Settings in `overrides` win over these.
        public func overridden(by overrides: Settings) -> Settings {
            var merged = self
            merged.databaseURL = overrides.databaseURL ?? databaseURL
            merged.databaseMaxConnections = overrides.databaseMaxConnections ?? databaseMaxConnections
            merged.redisURL = overrides.redisURL ?? redisURL
            merged.redisConnections = overrides.redisConnections ?? redisConnections
            merged.httpHost = overrides.httpHost ?? httpHost
            merged.httpPort = overrides.httpPort ?? httpPort
            merged.jwtSecret = overrides.jwtSecret ?? jwtSecret
            merged.jwtIssuer = overrides.jwtIssuer ?? jwtIssuer
            merged.jwtAudience = overrides.jwtAudience ?? jwtAudience
            merged.jwtMaxLifetimeSeconds = overrides.jwtMaxLifetimeSeconds ?? jwtMaxLifetimeSeconds
            merged.orderWriteLockTimeoutMilliseconds =
                overrides.orderWriteLockTimeoutMilliseconds ?? orderWriteLockTimeoutMilliseconds
            merged.orderWriteStatementTimeoutMilliseconds =
                overrides.orderWriteStatementTimeoutMilliseconds ?? orderWriteStatementTimeoutMilliseconds
            merged.rateLimits = overrides.rateLimits ?? rateLimits
            merged.rateLimitsFile = overrides.rateLimitsFile ?? rateLimitsFile
            merged.trustedProxies = overrides.trustedProxies ?? trustedProxies
            merged.rateLimitAllowList = overrides.rateLimitAllowList ?? rateLimitAllowList
            merged.loadShedding = overrides.loadShedding ?? loadShedding
            merged.loadSheddingMaxInFlight = overrides.loadSheddingMaxInFlight ?? loadSheddingMaxInFlight
            return merged
        }
    }

    /// - Parameter requireSecret: the service needs `JWT_SECRET`; commands such as `migrate` do not.
    public init(_ settings: Settings, requireSecret: Bool = true) throws(ConfigurationError) {
        database = try DatabaseURL(settings.databaseURL ?? Self.defaultDatabaseURL)
        databaseMaxConnections = try Self.integer(
            settings.databaseMaxConnections, name: "DB_MAX_CONNECTIONS", default: 20, range: 1...1000)
        do {
            redis = try RedisConfiguration(url: settings.redisURL ?? Self.defaultRedisURL)
        } catch {
            throw ConfigurationError("REDIS_URL", error.description)
        }
        redis.connectionCount = try Self.integer(
            settings.redisConnections, name: "REDIS_CONNECTIONS", default: 4, range: 1...256)
        httpHost = settings.httpHost ?? "127.0.0.1"
        guard !httpHost.isEmpty else { throw ConfigurationError("HTTP_HOST", "must not be empty") }
        httpPort = try Self.integer(settings.httpPort, name: "HTTP_PORT", default: 8080, range: 0...65535)
        jwtSecret = settings.jwtSecret ?? ""
        if requireSecret && jwtSecret.utf8.count < 32 {
            throw ConfigurationError(
                "JWT_SECRET", jwtSecret.isEmpty ? "is not set" : "must be at least 32 bytes long (HS256 keys are 256 bits)")
        }
        jwtIssuer = try Self.nonEmpty(settings.jwtIssuer, name: "JWT_ISSUER")
        jwtAudience = try Self.nonEmpty(settings.jwtAudience, name: "JWT_AUDIENCE")
        jwtMaxLifetimeSeconds = try Self.integer(
            settings.jwtMaxLifetimeSeconds, name: "JWT_MAX_LIFETIME_SECONDS", default: 86_400, range: 60...31_536_000)
        orderWriteLockTimeoutMilliseconds = try Self.integer(
            settings.orderWriteLockTimeoutMilliseconds, name: "ORDER_WRITE_LOCK_TIMEOUT_MS", default: 2_000,
            range: 10...9_000)
        orderWriteStatementTimeoutMilliseconds = try Self.integer(
            settings.orderWriteStatementTimeoutMilliseconds, name: "ORDER_WRITE_STATEMENT_TIMEOUT_MS", default: 5_000,
            range: 100...9_000)
        rateLimits = try Self.rateLimits(switch: settings.rateLimits, file: settings.rateLimitsFile)
        do {
            trustedProxies = try TrustedProxies(parsing: settings.trustedProxies ?? "")
        } catch {
            throw ConfigurationError("TRUSTED_PROXIES", error.description)
        }
        do {
            rateLimitAllowList = try IPRanges(parsing: settings.rateLimitAllowList ?? "")
        } catch {
            throw ConfigurationError("RATE_LIMIT_ALLOWLIST", error.description)
        }
        let maxInFlight = try Self.integer(
            settings.loadSheddingMaxInFlight, name: "LOAD_SHEDDING_MAX_IN_FLIGHT", default: 4096, range: 64...1_000_000)
        loadShedding =
            try Self.isOn(settings.loadShedding, name: "LOAD_SHEDDING")
            ? AdaptiveConcurrencyLimit.Settings(initialLimit: min(256, maxInFlight), minimumLimit: 64, maximumLimit: maxInFlight)
            : nil
    }

    /// An on/off switch, on when unset.
    private static func isOn(_ text: String?, name: String) throws(ConfigurationError) -> Bool {
        switch text?.lowercased() {
        case nil, "on": true
        case "off": false
        case let other?: throw ConfigurationError(name, "'\(other)' is neither on nor off")
        }
    }

    /// `RATE_LIMITS=off` lifts every limit; otherwise the defaults, with the groups of
    /// `RATE_LIMITS_FILE` replacing theirs.
    private static func rateLimits(switch text: String?, file: String?) throws(ConfigurationError) -> RateLimitPolicy {
        guard try isOn(text, name: "RATE_LIMITS") else { return .off }
        guard let file else { return .defaults }
        guard let data = FileManager.default.contents(atPath: file) else {
            throw ConfigurationError("RATE_LIMITS_FILE", "cannot read \(file)")
        }
        do {
            return try RateLimitPolicy.overriding(.defaults, with: data)
        } catch {
            throw ConfigurationError("RATE_LIMITS_FILE", "\(file): \(error.description)")
        }
    }

    /// Unset stays unset; set but empty is a mistake worth stopping for (an unset variable is how one turns it off).
    private static func nonEmpty(_ text: String?, name: String) throws(ConfigurationError) -> String? {
        guard let text else { return nil }
        guard !text.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw ConfigurationError(name, "must not be empty when set")
        }
        return text
    }

    /// A whole-number setting within `range`, or `value` when unset; shared by every command's settings.
    public static func integer(
        _ text: String?, name: String, default value: Int, range: ClosedRange<Int>
    ) throws(ConfigurationError) -> Int {
        guard let text else { return value }
        guard let number = Int(text), range.contains(number) else {
            throw ConfigurationError(name, "'\(text)' is not a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return number
    }
}
