import FlashSaleHTTP
import Foundation
import JWTKit
import Testing

/// Shopper tokens beyond the signature: `nbf`, `iat`, a maximum lifetime, `iss` and `aud`.
@Suite("Shopper-token claims and the verified-token cache")
struct TokenPolicyTests {
    static let secret = "test-secret-test-secret-test-secret!"

    struct Claims: JWTPayload {
        var sub: SubjectClaim
        var exp: ExpirationClaim
        var nbf: NotBeforeClaim?
        var iat: IssuedAtClaim?
        var iss: IssuerClaim?
        var aud: AudienceClaim?

        func verify(using algorithm: some JWTAlgorithm) async throws {}
    }

    /// A token signed with the service's secret whose times are offsets in seconds from now.
    static func token(
        exp: Double = 600, nbf: Double? = nil, iat: Double? = 0, iss: String? = nil, aud: [String]? = nil
    ) async throws -> String {
        let keys = JWTKeyCollection()
        await keys.add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256)
        let now = Date()
        return try await keys.sign(
            Claims(
                sub: SubjectClaim(value: "pat"), exp: ExpirationClaim(value: now.addingTimeInterval(exp)),
                nbf: nbf.map { NotBeforeClaim(value: now.addingTimeInterval($0)) },
                iat: iat.map { IssuedAtClaim(value: now.addingTimeInterval($0)) }, iss: iss.map { IssuerClaim(value: $0) },
                aud: aud.map { AudienceClaim(value: $0) }))
    }

    @Test func notBeforeIssuedAtAndLifetimeAreCheckedWithASmallLeeway() async throws {
        let tokens = await ShopperTokens(secret: Self.secret, policy: TokenPolicy(maximumLifetime: .seconds(3600)))
        #expect(await tokens.shopperID(from: try await Self.token()) == "pat")
        #expect(await tokens.shopperID(from: try await Self.token(iat: nil)) == "pat")
        // A clock a few seconds ahead is forgiven; a minute is not.
        #expect(await tokens.shopperID(from: try await Self.token(nbf: 5)) == "pat")
        #expect(await tokens.shopperID(from: try await Self.token(nbf: 120)) == nil)
        #expect(await tokens.shopperID(from: try await Self.token(iat: 10)) == "pat")
        #expect(await tokens.shopperID(from: try await Self.token(iat: 120)) == nil)
        // Lifetime: exp - iat, or exp - now without iat.
        #expect(await tokens.shopperID(from: try await Self.token(exp: 3500, iat: 0)) == "pat")
        #expect(await tokens.shopperID(from: try await Self.token(exp: 1800, iat: -3000)) == nil)
        #expect(await tokens.shopperID(from: try await Self.token(exp: 86_400, iat: nil)) == nil)
        #expect(await tokens.shopperID(from: try await Self.token(exp: -1)) == nil)
    }

    @Test func issuerAndAudienceAreRequiredOnlyWhenConfigured() async throws {
        let open = await ShopperTokens(secret: Self.secret)
        #expect(await open.shopperID(from: try await Self.token(iss: "anyone", aud: ["anything"])) == "pat")

        let strict = await ShopperTokens(
            secret: Self.secret, policy: TokenPolicy(issuer: "https://id.example", audience: "flashsale"))
        #expect(await strict.shopperID(from: try await Self.token(iss: "https://id.example", aud: ["flashsale"])) == "pat")
        #expect(
            await strict.shopperID(from: try await Self.token(iss: "https://id.example", aud: ["other", "flashsale"])) == "pat")
        #expect(await strict.shopperID(from: try await Self.token(aud: ["flashsale"])) == nil)
        #expect(await strict.shopperID(from: try await Self.token(iss: "https://evil.example", aud: ["flashsale"])) == nil)
        #expect(await strict.shopperID(from: try await Self.token(iss: "https://id.example")) == nil)
        #expect(await strict.shopperID(from: try await Self.token(iss: "https://id.example", aud: ["other"])) == nil)
        // What the service issues itself (`flashsale token`) satisfies its own policy.
        let issued = try await strict.issue(shopperID: "sam", lifetime: .seconds(60))
        #expect(await strict.shopperID(from: issued) == "sam")
    }

    /// A flood of distinct valid tokens, each used once, must not evict the tokens shoppers keep
    /// using: their next requests are still answered from the cache, without an HMAC.
    @Test func aFloodOfDistinctTokensDoesNotEvictTheTokensInUse() async throws {
        let tokens = await ShopperTokens(secret: Self.secret, cacheLimit: 100)
        var regulars: [String] = []
        for shopper in 0..<20 {
            regulars.append(try await tokens.issue(shopperID: "regular-\(shopper)", lifetime: .seconds(600)))
        }
        for _ in 0..<2 {
            for token in regulars { #expect(await tokens.shopperID(from: token) != nil) }
        }
        let flood = try await (0..<1_000).asyncMap { try await tokens.issue(shopperID: "bot-\($0)", lifetime: .seconds(600)) }
        for (index, token) in flood.enumerated() {
            #expect(await tokens.shopperID(from: token) == "bot-\(index)")
            // Shoppers keep shopping during the flood.
            if index % 50 == 0 { for token in regulars { _ = await tokens.shopperID(from: token) } }
        }
        let before = tokens.signaturesChecked
        for token in regulars { #expect(await tokens.shopperID(from: token) != nil) }
        #expect(tokens.signaturesChecked == before)
    }
}

extension Sequence {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var result: [T] = []
        for element in self { result.append(try await transform(element)) }
        return result
    }
}
