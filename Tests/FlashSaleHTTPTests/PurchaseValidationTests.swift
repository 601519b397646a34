import FlashSale
import FlashSaleHTTP
import FlashSaleTestSupport
import Foundation
import Testing

@Suite("Bad purchase requests get the contract's 4xx, never a 5xx")
struct PurchaseValidationTests {
    @Test func badBodiesAndQuantities() async throws {
        try await PurchaseHarness.run(TestSale(stock: 10)) { harness in
            let path = "/v1/sales/\(harness.sale.id)/orders"
            let cases: [(String, Int, String)] = [
                ("{not json", 400, "invalid_request"),
                (#"{"sku":"hot-sku"}"#, 400, "invalid_request"),
                (#"{"sku":"hot-sku","quantity":"one"}"#, 400, "invalid_request"),
                (#"{"sku":"hot-sku","quantity":0}"#, 400, "invalid_request"),
                (#"{"sku":"hot-sku","quantity":-3}"#, 400, "invalid_request"),
                (#"{"sku":"hot-sku","quantity":1000000000000}"#, 400, "invalid_request"),
                (#"{"sku":"hot-sku","quantity":1e40}"#, 400, "invalid_request"),
                (#"{"sku":"hot-sku","quantity":100000000000000000000000}"#, 400, "invalid_request"),
                (#"{"sku":"no-such-sku","quantity":1}"#, 404, "not_found"),
            ]
            for (body, status, code) in cases {
                let token = try await harness.checkoutToken(for: "dave")
                let reply = try await harness.request(
                    .POST, path, shopper: "dave", headers: [("Idempotency-Key", token)], body: body)
                #expect(reply.status == status, "\(body) → \(reply.status) \(reply.text)")
                #expect(reply.code == code, "\(body) → \(reply.text)")
                #expect(reply.headers["Content-Type"] == ["application/problem+json"])
            }
            let noKey = try await harness.request(.POST, path, shopper: "dave", body: #"{"sku":"hot-sku","quantity":1}"#)
            #expect(noKey.status == 400)
            let unknownSale = try await harness.request(
                .POST, "/v1/sales/nope/orders", shopper: "dave",
                headers: [("Idempotency-Key", try await harness.checkoutToken(for: "dave"))],
                body: #"{"sku":"hot-sku","quantity":1}"#)
            #expect(unknownSale.status == 404)
            #expect(try await harness.postgresStock().orders == 0)
        }
    }

    @Test func tokensThatAreNotYours() async throws {
        try await PurchaseHarness.run(TestSale(stock: 10)) { harness in
            let erinsToken = try await harness.checkoutToken(for: "erin")
            let stolen = try await harness.order(shopper: "frank", token: erinsToken)
            #expect(stolen.status == 422)
            #expect(stolen.code == "invalid_token")
            // The owner can still use it: a stolen attempt does not burn the token.
            #expect(try await harness.order(shopper: "erin", token: erinsToken).status == 201)

            let unknown = try await harness.order(shopper: "frank", token: String(repeating: "ab", count: 16))
            #expect(unknown.status == 422)
            #expect(unknown.code == "invalid_token")
            let malformed = try await harness.order(shopper: "frank", token: "not-a-token")
            #expect(malformed.status == 422)

            // An expired token is gone from Redis: same answer as unknown.
            let expiring = try await harness.checkoutToken(for: "frank")
            _ = try await harness.redis.send("DEL", .string(RedisKeys(saleID: harness.sale.id).token(expiring)))
            #expect(try await harness.order(shopper: "frank", token: expiring).code == "invalid_token")

            let token = try await harness.checkoutToken(for: "frank")
            #expect(try await harness.order(shopper: "frank", token: token, quantity: 1).status == 201)
            let reused = try await harness.order(shopper: "frank", token: token, quantity: 2)
            #expect(reused.status == 422)
            #expect(reused.code == "idempotency_key_reused")
        }
    }

    @Test func authentication() async throws {
        try await PurchaseHarness.run(TestSale(stock: 10)) { harness in
            let path = "/v1/sales/\(harness.sale.id)/checkout-tokens"
            let missing = try await harness.request(.POST, path)
            #expect(missing.status == 401)
            #expect(missing.code == "unauthorized")
            let garbage = try await harness.request(.POST, path, headers: [("Authorization", "Bearer x.y.z")])
            #expect(garbage.status == 401)
            let otherSecret = await ShopperTokens(secret: "some-other-secret-value-of-32-bytes!")
            let forged = try await otherSecret.issue(shopperID: "mallory", lifetime: .seconds(60))
            #expect(try await harness.request(.POST, path, headers: [("Authorization", "Bearer \(forged)")]).status == 401)
            let expired = try await harness.tokens.issue(shopperID: "mallory", lifetime: .seconds(-60))
            #expect(try await harness.request(.POST, path, headers: [("Authorization", "Bearer \(expired)")]).status == 401)
            #expect(try await harness.request(.POST, path, shopper: "mallory").status == 201)
        }
    }

    @Test func saleNotActive() async throws {
        try await PurchaseHarness.run(TestSale(stock: 10), startsInHours: 1) { harness in
            let reply = try await harness.request(.POST, "/v1/sales/\(harness.sale.id)/checkout-tokens", shopper: "gina")
            #expect(reply.status == 403)
            #expect(reply.code == "sale_not_active")
        }
    }
}
