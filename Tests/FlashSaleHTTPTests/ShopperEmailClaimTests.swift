import FlashSaleHTTP
import Testing

/// The optional `email` claim of a shopper token is where the order e-mails go; one that is not a
/// plausible address is ignored (no e-mails), never a reason to refuse the shopper.
@Suite struct ShopperEmailClaimTests {
    let secret = "test-secret-test-secret-test-secret!"

    @Test func aPlausibleAddressIsKeptAndAnythingElseIgnored() async throws {
        let tokens = await ShopperTokens(secret: secret)
        let cases: [(String?, String?)] = [
            ("alice@example.com", "alice@example.com"),
            (nil, nil),
            ("not an address", nil),
            ("bob@localhost", nil),
            ("eve@example.com\r\nBcc: all@example.com", nil),
            ("<mallory@example.com>", nil),
            ("a@b@example.com", nil),
        ]
        for (claim, kept) in cases {
            let token = try await tokens.issue(shopperID: "s", email: claim, lifetime: .seconds(60))
            let shopper = await tokens.shopper(from: token)
            #expect(shopper?.id == "s")
            #expect(shopper?.email == kept, "claim \(claim ?? "none")")
        }
    }
}
