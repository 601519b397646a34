import FlashSaleHTTP
import Synchronization

/// JWTs for the simulated shoppers, signed with the service's secret (and issuer and audience),
/// and forged ones for the bots that have none. Bots' identities are few: theirs are kept.
public final class ShopperJWTs: Sendable {
    private let signer: ShopperTokens
    private let forger: ShopperTokens
    private let kept = Mutex<[String: String]>([:])
    private let lifetime: Duration

    public init(secret: String, policy: TokenPolicy, lifetime: Duration = .seconds(3600)) async {
        signer = await ShopperTokens(secret: secret, policy: policy)
        // A secret the service does not know: a well-formed token whose signature fails.
        forger = await ShopperTokens(secret: "forged-" + String(repeating: "x", count: 40), policy: policy)
        self.lifetime = min(lifetime, policy.maximumLifetime)
    }

    public func jwt(for shopperID: String, valid: Bool, keep: Bool) async throws -> String {
        let key = (valid ? "v:" : "f:") + shopperID
        if keep, let known = kept.withLock({ $0[key] }) { return known }
        let token = try await (valid ? signer : forger).issue(shopperID: shopperID, lifetime: lifetime)
        if keep { kept.withLock { $0[key] = token } }
        return token
    }
}
