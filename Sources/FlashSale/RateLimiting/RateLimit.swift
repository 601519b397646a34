/// One limit a request must pass: at most `quota` requests per `window` for each key of `scope`,
/// enforced by `algorithm`. Its `name` is the policy name clients see in the `RateLimit` headers.
public struct RateLimit: Sendable, Equatable, Codable {
    /// Whose requests share one budget.
    public enum Scope: String, Sendable, Codable, CaseIterable {
        /// The authenticated shopper (the JWT's subject): only on shopper routes.
        case shopper
        /// The client's IP address (see `TRUSTED_PROXIES` for `X-Forwarded-For`).
        case clientIP = "client_ip"
        /// Everyone on the route group together: a ceiling that protects the stores.
        case route
    }

    public enum Algorithm: String, Sendable, Codable, CaseIterable {
        /// Refills `quota` tokens per `window`, holds at most `burst`: a burst is allowed, then the rate.
        case tokenBucket = "token_bucket"
        /// The generic cell rate algorithm: one request per `window / quota`, up to `burst` early.
        /// Smooth: no burst comes back before its time has passed.
        case gcra
        /// At most `quota` in any `window`, estimated from this window's and the previous one's counts.
        case slidingWindow = "sliding_window"
    }

    public var name: String
    public var scope: Scope
    public var algorithm: Algorithm
    public var quota: Int
    public var windowSeconds: Double
    /// Requests allowed at once (token bucket, GCRA); `quota` when unset. The sliding window ignores it.
    public var burst: Int?

    public init(name: String, scope: Scope, algorithm: Algorithm, quota: Int, windowSeconds: Double, burst: Int? = nil) {
        self.name = name
        self.scope = scope
        self.algorithm = algorithm
        self.quota = quota
        self.windowSeconds = windowSeconds
        self.burst = burst
    }

    enum CodingKeys: String, CodingKey {
        case name, scope, algorithm, quota, burst
        case windowSeconds = "window_seconds"
    }

    var effectiveBurst: Int { burst ?? quota }
    var windowMicroseconds: Int64 { Int64((windowSeconds * 1_000_000).rounded()) }
}
