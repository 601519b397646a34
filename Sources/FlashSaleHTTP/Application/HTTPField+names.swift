import HTTPTypes

/// Headers of the API contract that HTTPTypes does not name.
extension HTTPField.Name {
    static let stockSource = Self("Stock-Source")!
    static let idempotencyKey = Self("Idempotency-Key")!
    static let idempotentReplayed = Self("Idempotent-Replayed")!
    static let forwardedFor = Self("X-Forwarded-For")!
    /// draft-ietf-httpapi-ratelimit-headers.
    static let rateLimitPolicy = Self("RateLimit-Policy")!
    static let rateLimit = Self("RateLimit")!
}
