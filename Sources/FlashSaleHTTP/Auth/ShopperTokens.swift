import Foundation
import JWTKit
import Synchronization

/// Who a shopper token names: the `sub` claim, and where their order e-mails go (the optional
/// `email` claim), kept with each order they place.
public struct Shopper: Sendable, Equatable {
    public let id: String
    public let email: String?
}

/// Shopper identity: HS256 JWTs whose `sub` is the shopper id, checked for `exp`, `nbf`, `iat`, a
/// maximum lifetime, and `iss`/`aud` when the policy names them.
public final class ShopperTokens: Sendable {
    struct Claims: JWTPayload {
        var sub: SubjectClaim
        var exp: ExpirationClaim
        var nbf: NotBeforeClaim?
        var iat: IssuedAtClaim?
        var iss: IssuerClaim?
        var aud: AudienceClaim?
        var email: String?

        func verify(using algorithm: some JWTAlgorithm) async throws {
            try exp.verifyNotExpired()
        }
    }

    private let keys: JWTKeyCollection
    public let policy: TokenPolicy
    /// Shoppers send the same JWT with every request of a sale (token, order, pay); remembering the
    /// verdict for a verified token until its own expiry spares the HMAC and the JSON decoding.
    private let verified: VerifiedTokenCache<(shopper: Shopper, expires: Date)>
    public static let verifiedCacheLimit = 100_000
    /// Signatures checked (cache misses that got as far as the HMAC), for tests and metrics.
    private let signatureChecks = Atomic<Int>(0)

    /// The first segment of the tokens ``issue(shopperID:lifetime:)`` signs: their header.
    private let issuedHeader: String

    public init(secret: String, policy: TokenPolicy = TokenPolicy(), cacheLimit: Int = ShopperTokens.verifiedCacheLimit) async {
        keys = JWTKeyCollection()
        await keys.add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256)
        self.policy = policy
        verified = VerifiedTokenCache(probationLimit: cacheLimit, protectedLimit: cacheLimit)
        let sample = try? await keys.sign(Claims(sub: SubjectClaim(value: "-"), exp: ExpirationClaim(value: Date())))
        issuedHeader = sample.map { String($0.prefix { $0 != "." }) } ?? ""
    }

    public var signaturesChecked: Int { signatureChecks.load(ordering: .relaxed) }

    /// A signed token for `shopperID`, valid for `lifetime`, with an `email` claim when given, and
    /// the policy's issuer and audience.
    public func issue(shopperID: String, email: String? = nil, lifetime: Duration) async throws -> String {
        let now = Date()
        let expiry = now.addingTimeInterval(TokenPolicy.seconds(lifetime))
        return try await keys.sign(
            Claims(
                sub: SubjectClaim(value: shopperID), exp: ExpirationClaim(value: expiry),
                iat: IssuedAtClaim(value: now), iss: policy.issuer.map { IssuerClaim(value: $0) },
                aud: policy.audience.map { AudienceClaim(value: [$0]) }, email: email))
    }

    /// The shopper id of a valid, unexpired token; nil for anything else.
    public func shopperID(from token: String) async -> String? {
        await shopper(from: token)?.id
    }

    /// The shopper a valid, unexpired token names; nil for anything else. An `email` claim that is
    /// not a plausible address is ignored (no e-mails), not a reason to refuse the shopper.
    public func shopper(from token: String) async -> Shopper? {
        let now = Date()
        if let known = verified.value(for: token) {
            if known.expires > now { return known.shopper }
            verified.forget(token)
        }
        guard Self.headerNamesHS256(token, issuedHeader: issuedHeader) else { return nil }
        signatureChecks.wrappingAdd(1, ordering: .relaxed)
        guard let claims = try? await keys.verify(token, as: Claims.self), !claims.sub.value.isEmpty,
            policy.admits(
                issuedAt: claims.iat?.value, notBefore: claims.nbf?.value, expires: claims.exp.value,
                issuer: claims.iss?.value, audience: claims.aud?.value, now: now)
        else {
            return nil
        }
        let shopper = Shopper(id: claims.sub.value, email: claims.email.flatMap(Self.plausibleAddress))
        // A token not yet valid is answered now but not remembered: its `nbf` is checked again next time.
        if claims.nbf.map({ $0.value <= now }) ?? true { verified.admit(token, (shopper, claims.exp.value)) }
        return shopper
    }

    /// `local@domain`, at most 254 bytes, no spaces, control characters or angle brackets (it goes
    /// into a message header as it is).
    static func plausibleAddress(_ text: String) -> String? {
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        guard text.utf8.count <= 254, parts.count == 2, !parts[0].isEmpty, parts[1].contains("."),
            !text.unicodeScalars.contains(where: { $0.value <= 0x20 || $0 == "<" || $0 == ">" || $0 == "," || $0.value == 0x7F })
        else { return nil }
        return text
    }

    private struct Header: Decodable {
        let alg: String
    }

    /// Whether the token's header says `"alg":"HS256"`. jwt-kit chooses the key by `kid` alone and
    /// never compares an HMAC key's algorithm with the header's, so without this a token claiming
    /// HS512, or anything else, would pass on an HS256 signature.
    static func headerNamesHS256(_ token: String, issuedHeader: String) -> Bool {
        guard let dot = token.firstIndex(of: ".") else { return false }
        // The header of the tokens this service issues (nearly every one it sees): no decoding needed.
        if token[..<dot] == issuedHeader { return true }
        var base64 = token[..<dot].replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.utf8.count % 4) % 4)
        guard let bytes = Data(base64Encoded: base64), let header = try? JSONDecoder().decode(Header.self, from: bytes)
        else { return false }
        return header.alg == "HS256"
    }
}
