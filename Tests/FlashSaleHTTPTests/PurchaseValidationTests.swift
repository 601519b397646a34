import FlashSale
import FlashSaleHTTP
import FlashSaleTestSupport
import Foundation
import JWTKit
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
                (#"{"sku":"hot-sku","quantity":1.0}"#, 400, "invalid_request"),
                (#"{"quantity": 1e0, "sku":"hot-sku"}"#, 400, "invalid_request"),
                (#"{"sku":"hot-sku","note":"a \"quantity\": 1.5","quantity":2.00}"#, 400, "invalid_request"),
                (#"{"sku":"","quantity":1}"#, 400, "invalid_request"),
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

    /// A body is read as JSON when it says so, or says nothing; labelled as anything else it is
    /// refused before it reaches Redis, so the checkout token is still good afterwards.
    @Test func bodiesLabelledAsSomethingElse() async throws {
        try await PurchaseHarness.run(TestSale(stock: 10)) { harness in
            let path = "/v1/sales/\(harness.sale.id)/orders"
            let token = try await harness.checkoutToken(for: "hana")
            for type in ["text/plain", "application/x-www-form-urlencoded", "application/jsonx"] {
                let reply = try await harness.request(
                    .POST, path, shopper: "hana", headers: [("Idempotency-Key", token), ("Content-Type", type)],
                    body: #"{"sku":"hot-sku","quantity":1}"#)
                #expect(reply.status == 415, "\(type) → \(reply.status) \(reply.text)")
                #expect(reply.code == "unsupported_media_type")
                #expect(reply.headers["Content-Type"] == ["application/problem+json"])
            }
            let order = try await harness.request(
                .POST, path, shopper: "hana",
                headers: [("Idempotency-Key", token), ("Content-Type", "Application/JSON; charset=utf-8")],
                body: #"{"sku":"hot-sku","quantity":1}"#)
            #expect(order.status == 201, "\(order.text)")
            let id = try #require(order.json["order_id"] as? String)
            let pay = try await harness.request(
                .POST, "/v1/orders/\(id)/pay", shopper: "hana",
                headers: [("Idempotency-Key", "p1"), ("Content-Type", "text/plain")],
                body: #"{"payment_method":"pm_card_ok"}"#)
            #expect(pay.status == 415)
            // Field names are the contract's exactly: no camelCase spelling of payment_method.
            let camel = try await harness.request(
                .POST, "/v1/orders/\(id)/pay", shopper: "hana", headers: [("Idempotency-Key", "p2")],
                body: #"{"paymentMethod":"pm_card_ok"}"#)
            #expect(camel.status == 400, "\(camel.text)")
            #expect(camel.code == "invalid_request")
            #expect((camel.json["detail"] as? String)?.contains("payment_method") == true, "\(camel.text)")
            #expect(try await harness.request(.GET, "/v1/orders/\(id)", shopper: "hana").json["status"] as? String == "reserved")
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

            // The scheme is case-insensitive; the token must follow it after a space.
            let valid = try await harness.bearer("mallory")
            for header in ["bearer \(valid)", "BEARER  \(valid)"] {
                #expect(try await harness.request(.POST, path, headers: [("Authorization", header)]).status == 201, "\(header)")
            }
            for header in ["Bearer\(valid)", "Bearer ", "Basic \(valid)", valid] {
                #expect(try await harness.request(.POST, path, headers: [("Authorization", header)]).status == 401, "\(header)")
            }

            // Signed with the right secret, but the header names another algorithm: refused.
            let keys = JWTKeyCollection()
            await keys.add(hmac: HMACKey(from: PurchaseHarness.secret), digestAlgorithm: .sha256)
            let claims = TestClaims(sub: SubjectClaim(value: "mallory"), exp: ExpirationClaim(value: Date() + 60))
            let honest = try await keys.sign(claims)
            #expect(try await harness.request(.POST, path, headers: [("Authorization", "Bearer \(honest)")]).status == 201)
            for alg in ["HS512", "none", "hs256"] {
                let lying = try await keys.sign(claims, header: ["alg": .string(alg)])
                #expect(
                    try await harness.request(.POST, path, headers: [("Authorization", "Bearer \(lying)")]).status == 401,
                    "\(alg)")
            }
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

/// The claims a shopper token carries, signed here with headers of the test's choosing.
private struct TestClaims: JWTPayload {
    var sub: SubjectClaim
    var exp: ExpirationClaim

    func verify(using algorithm: some JWTAlgorithm) async throws {}
}
