import FlashSale
import FlashSaleHTTP

/// The limits `serve` puts on slow clients and on its own shutdown, from the environment and the
/// flags that override it, validated at start like every other setting.
struct ServeLimits {
    var connections: HTTPConnectionLimits
    /// After SIGTERM/SIGINT, how long in-flight requests may take to finish before they are cut.
    var shutdownTimeout: Duration

    static let defaultShutdownTimeout = Duration.seconds(25)

    /// Raw settings as text: the flag when given, else the environment variable.
    struct Settings {
        var idleTimeout: String?
        var requestReadTimeout: String?
        var maximumConnections: String?
        var shutdownTimeout: String?

        init() {}

        init(environment: [String: String]) {
            idleTimeout = environment["HTTP_IDLE_TIMEOUT"]
            requestReadTimeout = environment["HTTP_REQUEST_READ_TIMEOUT"]
            maximumConnections = environment["HTTP_MAX_CONNECTIONS"]
            shutdownTimeout = environment["SHUTDOWN_TIMEOUT"]
        }

        func overridden(by flags: Settings) -> Settings {
            var merged = self
            merged.idleTimeout = flags.idleTimeout ?? idleTimeout
            merged.requestReadTimeout = flags.requestReadTimeout ?? requestReadTimeout
            merged.maximumConnections = flags.maximumConnections ?? maximumConnections
            merged.shutdownTimeout = flags.shutdownTimeout ?? shutdownTimeout
            return merged
        }
    }

    init(_ settings: Settings) throws(ConfigurationError) {
        connections = HTTPConnectionLimits(
            idleTimeout: try Self.span(
                settings.idleTimeout, name: "HTTP_IDLE_TIMEOUT", default: HTTPConnectionLimits.defaultIdleTimeout,
                maximum: .seconds(3600)),
            requestReadTimeout: try Self.span(
                settings.requestReadTimeout, name: "HTTP_REQUEST_READ_TIMEOUT",
                default: HTTPConnectionLimits.defaultRequestReadTimeout, maximum: .seconds(600)),
            maximumConnections: try FlashSaleConfiguration.integer(
                settings.maximumConnections, name: "HTTP_MAX_CONNECTIONS",
                default: HTTPConnectionLimits.defaultMaximumConnections, range: 1...1_000_000))
        shutdownTimeout = try Self.span(
            settings.shutdownTimeout, name: "SHUTDOWN_TIMEOUT", default: Self.defaultShutdownTimeout,
            maximum: .seconds(3600))
    }

    private static func span(
        _ text: String?, name: String, default value: Duration, maximum: Duration
    ) throws(ConfigurationError) -> Duration {
        guard let text else { return value }
        guard let seconds = TimeSpan.seconds(text), Duration.seconds(seconds) <= maximum else {
            throw ConfigurationError(
                name, "'\(text)' is not a duration from 1s to \(maximum.components.seconds)s, such as 30s or 2m")
        }
        return .seconds(seconds)
    }
}
