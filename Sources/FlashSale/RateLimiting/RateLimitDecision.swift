/// What one limit said about one request, with what the `RateLimit` headers tell the client.
public struct RateLimitDecision: Sendable, Equatable {
    public var limit: RateLimit
    public var allowed: Bool
    /// Requests still allowed now (0 when refused).
    public var remaining: Int
    /// Until the whole quota is available again.
    public var resetMicroseconds: Int64
    /// Until a request can pass again; 0 when allowed.
    public var retryAfterMicroseconds: Int64
    public var block: Block

    /// Whether the subject is blocked (refused on every limit of its scope until the block ends).
    public enum Block: Sendable, Equatable {
        case none
        /// Blocked by an earlier refusal.
        case standing
        /// Blocked by this refusal.
        case new
    }

    public init(
        limit: RateLimit, allowed: Bool, remaining: Int, resetMicroseconds: Int64, retryAfterMicroseconds: Int64,
        block: Block = .none
    ) {
        self.limit = limit
        self.allowed = allowed
        self.remaining = remaining
        self.resetMicroseconds = resetMicroseconds
        self.retryAfterMicroseconds = retryAfterMicroseconds
        self.block = block
    }

    /// Whole seconds for `Retry-After`, never 0 for a refusal (a client told 0 retries at once).
    public var retryAfterSeconds: Int { max(1, Int((retryAfterMicroseconds + 999_999) / 1_000_000)) }
    public var resetSeconds: Int { Int((resetMicroseconds + 999_999) / 1_000_000) }
}
