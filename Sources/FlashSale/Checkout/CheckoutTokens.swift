import RedisClient

/// Issues checkout tokens: random 128-bit values bound to (shopper, sale) in Redis for five minutes.
/// A token is the Idempotency-Key of one order attempt; the purchase script consumes it.
public struct CheckoutTokens: Sendable {
    public static let lifetimeSeconds: Int64 = 300

    let redis: RedisClient

    public init(redis: RedisClient) {
        self.redis = redis
    }

    public func issue(saleID: String, shopperID: String) async throws -> String {
        let token = Self.randomToken()
        _ = try await redis.send(
            "SET", .string(RedisKeys(saleID: saleID).token(token)), .string(shopperID), "EX",
            .integer(Self.lifetimeSeconds))
        return token
    }

    /// 32 lowercase hex digits from the system's cryptographic generator.
    static func randomToken() -> String {
        var generator = SystemRandomNumberGenerator()
        let high = generator.next() as UInt64
        let low = generator.next() as UInt64
        return hex(high) + hex(low)
    }

    private static func hex(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }

    /// Whether `text` has the shape of a token this service issues (cheap check before touching Redis).
    public static func isWellFormed(_ text: String) -> Bool {
        text.utf8.count == 32 && text.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }
}
