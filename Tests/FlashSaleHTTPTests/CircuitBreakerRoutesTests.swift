import CircuitBreaking
import FlashSale
import FlashSaleTestSupport
import Foundation
import Testing

/// The stores' circuit breakers on the purchase path: Redis stopping opens its breaker (fast 503s
/// with Retry-After, nothing sold twice), and it closes by itself once Redis is back.
@Suite struct CircuitBreakerRoutesTests {
    static let quick = CircuitBreaker.Policy(
        window: .seconds(10), minimumCalls: 4, failureRatio: 0.5, coolDown: .seconds(1), probeTimeout: .seconds(5))

    /// The breaker's state in `/metrics`: 0 closed, 1 open, 2 half-open; nil before its first change.
    static func breakerState(_ harness: PurchaseHarness, _ dependency: String) async throws -> Double? {
        let metrics = try await harness.request(.GET, "/metrics").text
        return metrics.split(separator: "\n").first {
            $0.hasPrefix("flashsale_circuit_breaker_state{") && $0.contains("dependency=\"\(dependency)\"")
        }.flatMap { $0.split(separator: " ").last.flatMap { Double($0) } }
    }

    @Test func redisStoppingOpensItsBreakerAndItsReturnClosesIt() async throws {
        try await PurchaseHarness.run(TestSale(stock: 10), breakerPolicy: Self.quick) { harness in
            // Issued straight into Redis: minting them over HTTP would count ten successes for its breaker.
            var tokens: [(String, String)] = []
            for index in 0..<10 {
                let token = try await CheckoutTokens(redis: harness.redis).issue(saleID: harness.sale.id, shopperID: "s\(index)")
                tokens.append(("s\(index)", token))
            }
            #expect(try await harness.order(shopper: tokens[0].0, token: tokens[0].1).status == 201)

            await harness.redisServer.stop()
            var answers: [PurchaseHarness.Reply] = []
            for (shopper, token) in tokens[1...6] { answers.append(try await harness.order(shopper: shopper, token: token)) }
            #expect(answers.allSatisfy { $0.status == 503 && $0.code == "unavailable" }, "\(answers.map(\.text))")
            // The breaker opened on the failures: the last answers came from it, with when to come back.
            let refused = try #require(answers.last)
            #expect(refused.json["detail"].map { "\($0)".contains("circuit breaker is open") } == true, "\(answers.map(\.text))")
            #expect(refused.headers.first(name: "Retry-After") == "1")
            #expect(try await Self.breakerState(harness, "redis") == 1)

            try await harness.redisServer.start()
            try await Task.sleep(for: Self.quick.coolDown + .milliseconds(200))
            // The first attempt after the cool-down probes Redis; its answer (whatever Redis kept)
            // closes the breaker.
            _ = try await harness.order(shopper: tokens[7].0, token: tokens[7].1)
            try await waitUntil { try await Self.breakerState(harness, "redis") == 0 }
            let after = try await harness.order(shopper: tokens[8].0, token: tokens[8].1)
            #expect(after.json["detail"].map { "\($0)".contains("circuit breaker") } != true)
            // Nothing was sold twice: PostgreSQL holds the one order.
            #expect(try await harness.postgresStock().orders <= 2)
        }
    }

    @Test func aFailingPaymentGatewayOpensItsBreakerBeforeMoreOrdersAreTaken() async throws {
        let gateway = TestPaymentGateway()
        try await PurchaseHarness.run(TestSale(stock: 10), gateway: gateway, breakerPolicy: Self.quick) { harness in
            var orders: [(String, String)] = []
            for index in 0..<5 {
                orders.append(("p\(index)", try await PayAndCancelTests.reserve(harness, shopper: "p\(index)")))
            }
            gateway.fail(.timeOutBeforeCharging)
            for (shopper, order) in orders.prefix(4) {
                let paid = try await PayAndCancelTests.pay(harness, order, shopper: shopper, key: "k", method: "pm_card_ok")
                #expect(paid.status == 503)
            }
            #expect(try await Self.breakerState(harness, "payment_gateway") == 1)
            let asked = gateway.chargeRequests
            let (shopper, order) = orders[4]
            let refused = try await PayAndCancelTests.pay(harness, order, shopper: shopper, key: "k", method: "pm_card_ok")
            #expect(refused.status == 503)
            #expect(refused.headers.first(name: "Retry-After") == "1")
            #expect(gateway.chargeRequests == asked)
            // Refused before the order was taken: it is still reserved, payable once the gateway is back.
            let status = try await harness.request(.GET, "/v1/orders/\(order)", shopper: shopper).json["status"] as? String
            #expect(status == "reserved")
        }
    }
}
