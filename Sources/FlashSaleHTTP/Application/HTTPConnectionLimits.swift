/// What one HTTP connection may cost the service: how long it may sit idle, how long it may take
/// to deliver a request, and how many connections may be open at once. Without them a slow client
/// (one header byte a second, a body that never ends) holds its socket for ever, and enough of
/// them exhaust the process's file descriptors.
public struct HTTPConnectionLimits: Sendable, Equatable {
    /// A connection with no request in progress for this long is closed: a keep-alive connection
    /// between requests, or one that sent nothing since it opened.
    public var idleTimeout: Duration
    /// From a request's first byte, its head and body must have arrived within this, or the
    /// connection is closed. Time spent answering is not counted.
    public var requestReadTimeout: Duration
    /// Connections beyond this many open ones are closed as soon as they are accepted.
    public var maximumConnections: Int

    public static let defaultIdleTimeout = Duration.seconds(60)
    public static let defaultRequestReadTimeout = Duration.seconds(10)
    public static let defaultMaximumConnections = 10_000

    public init(
        idleTimeout: Duration = defaultIdleTimeout, requestReadTimeout: Duration = defaultRequestReadTimeout,
        maximumConnections: Int = defaultMaximumConnections
    ) {
        self.idleTimeout = idleTimeout
        self.requestReadTimeout = requestReadTimeout
        self.maximumConnections = maximumConnections
    }
}
