import Foundation
import JWTKit

/// Shopper identity: HS256 JWTs whose `sub` is the shopper id and whose `exp` is checked.
public struct ShopperTokens: Sendable {
    struct Claims: JWTPayload {
        var sub: SubjectClaim
        var exp: ExpirationClaim

        func verify(using algorithm: some JWTAlgorithm) async throws {
            try exp.verifyNotExpired()
        }
    }

    private let keys: JWTKeyCollection

    public init(secret: String) async {
        keys = JWTKeyCollection()
        await keys.add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256)
    }

    /// A signed token for `shopperID`, valid for `lifetime`.
    public func issue(shopperID: String, lifetime: Duration) async throws -> String {
        let expiry = Date().addingTimeInterval(Double(lifetime.components.seconds))
        return try await keys.sign(Claims(sub: SubjectClaim(value: shopperID), exp: ExpirationClaim(value: expiry)))
    }

    /// The shopper id of a valid, unexpired token; nil for anything else.
    public func shopperID(from token: String) async -> String? {
        guard let claims = try? await keys.verify(token, as: Claims.self), !claims.sub.value.isEmpty else {
            return nil
        }
        return claims.sub.value
    }
}
