import Foundation
import RedisClient

/// Issues checkout tokens bound to (shopper, sale) in Redis for five minutes. A token is the
/// Idempotency-Key of one order attempt; the purchase script consumes it. It is 32 hex digits: the
/// second it was issued (8), then 96 random bits (24). Clients treat it as opaque; the issue time
/// lets the sold-out short circuit (``SoldOutSKUs``) tell a token that cannot have won a unit.
/// Editing those digits makes a token Redis never issued, so they need no signature.
public struct CheckoutTokens: Sendable {
    public static let lifetimeSeconds: Int64 = 300

    let redis: RedisClient

    public init(redis: RedisClient) {
        self.redis = redis
    }

    public func issue(saleID: String, shopperID: String, unixSeconds: Int64 = Self.unixNow()) async throws -> String {
        let token = Self.newToken(issuedAt: unixSeconds)
        _ = try await redis.send(
            "SET", .string(RedisKeys(saleID: saleID).token(token)), .string(shopperID), "EX",
            .integer(Self.lifetimeSeconds))
        return token
    }

    /// The issue second, then 96 bits from the system's cryptographic generator, in lowercase hex.
    static func newToken(issuedAt: Int64) -> String {
        var generator = SystemRandomNumberGenerator()
        let high = generator.next() as UInt64
        let low = generator.next() as UInt32
        return hex(UInt64(UInt32(truncatingIfNeeded: issuedAt)), digits: 8) + hex(high, digits: 16) + hex(UInt64(low), digits: 8)
    }

    private static func hex(_ value: UInt64, digits count: Int) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: count - digits.count) + digits
    }

    /// The second a well-formed token says it was issued (Unix time).
    public static func issuedAt(_ token: String) -> Int64? {
        guard isWellFormed(token) else { return nil }
        return UInt32(token.prefix(8), radix: 16).map(Int64.init)
    }

    public static func unixNow() -> Int64 { Int64(Date().timeIntervalSince1970) }

    /// Whether `text` has the shape of a token this service issues (cheap check before touching Redis).
    public static func isWellFormed(_ text: String) -> Bool {
        text.utf8.count == 32 && text.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }
}
