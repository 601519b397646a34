import FlashSale
import FlashSaleTestSupport
import Testing

/// Past the limit on requests in flight, reads are shed before purchases and payments.
@Suite struct LoadSheddingTests {
    @Test func readsAreShedWhilePurchasesAndPaymentsStillGetIn() async throws {
        let gateway = TestPaymentGateway()
        // A fixed limit of 4: reads may fill 2 of it, checkout tokens 3, purchases and payments 4.
        let fixed = AdaptiveConcurrencyLimit.Settings(initialLimit: 4, minimumLimit: 4, maximumLimit: 4)
        try await PurchaseHarness.run(TestSale(stock: 10), gateway: gateway, loadShedding: fixed) { harness in
            let orders = [
                try await PayAndCancelTests.reserve(harness, shopper: "ana"),
                try await PayAndCancelTests.reserve(harness, shopper: "ben"),
            ]
            #expect(try await harness.request(.GET, "/v1/sales/\(harness.sale.id)").status == 200)
            gateway.hold()
            // Two payments wait on the gateway: two requests in flight.
            let payments = Task {
                try await withThrowingTaskGroup(of: Int.self) { group in
                    for (order, shopper) in zip(orders, ["ana", "ben"]) {
                        group.addTask {
                            try await PayAndCancelTests.pay(
                                harness, order, shopper: shopper, key: "k-\(shopper)", method: "pm_card_ok"
                            ).status
                        }
                    }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
            }
            await gateway.untilCharging(2)
            let read = try await harness.request(.GET, "/v1/sales/\(harness.sale.id)")
            #expect(read.status == 503)
            #expect(read.code == "unavailable")
            #expect(read.headers.first(name: "Retry-After") == "1")
            // A purchase still gets in, its checkout token first.
            let bought = try await harness.order(shopper: "cat", token: try await harness.checkoutToken(for: "cat"))
            #expect(bought.status == 201, "\(bought.text)")
            gateway.release()
            #expect(try await payments.value == [200, 200])
            #expect(try await harness.request(.GET, "/v1/sales/\(harness.sale.id)").status == 200)
        }
    }
}
