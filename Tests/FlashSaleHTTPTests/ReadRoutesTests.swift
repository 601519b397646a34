import FlashSale
import FlashSaleTestSupport
import Foundation
import Testing

@Suite("Reading sales, items and orders")
struct ReadRoutesTests {
    @Test func saleAndItemShowLiveStock() async throws {
        try await PurchaseHarness.run(TestSale(stock: 7, perShopperLimit: 3, priceCents: 2500)) { harness in
            let sale = try await harness.request(.GET, "/v1/sales/\(harness.sale.id)")
            #expect(sale.status == 200)
            #expect(sale.json["sale_id"] as? String == harness.sale.id)
            let items = sale.json["items"] as? [[String: Any]]
            #expect(items?.first?["available"] as? Int == 7)

            _ = try await harness.order(shopper: "hank", token: try await harness.checkoutToken(for: "hank"), quantity: 2)
            let item = try await harness.request(.GET, "/v1/sales/\(harness.sale.id)/items/\(harness.sale.sku)")
            #expect(item.status == 200)
            #expect(item.json["available"] as? Int == 5)
            #expect(item.json["price_cents"] as? Int == 2500)
            #expect(item.json["per_shopper_limit"] as? Int == 3)
            #expect(item.headers["Stock-Source"] == ["redis"])

            #expect(try await harness.request(.GET, "/v1/sales/\(harness.sale.id)/items/nope").status == 404)
            #expect(try await harness.request(.GET, "/v1/sales/nope").code == "not_found")

            // Redis down: the read falls back to PostgreSQL's stock of record and says so.
            await harness.redisServer.stop()
            let fallback = try await harness.request(.GET, "/v1/sales/\(harness.sale.id)/items/\(harness.sale.sku)")
            #expect(fallback.status == 200)
            #expect(fallback.json["available"] as? Int == 5)
            #expect(fallback.headers["Stock-Source"] == ["database"])
        }
    }

    @Test func onlyTheOwnerSeesAnOrder() async throws {
        try await PurchaseHarness.run(TestSale(stock: 7)) { harness in
            let created = try await harness.order(shopper: "ivy", token: try await harness.checkoutToken(for: "ivy"))
            #expect(created.status == 201)
            let id = try #require(created.json["order_id"] as? String)
            #expect(created.json["status"] as? String == "reserved")
            #expect(created.json["amount_cents"] as? Int == 1999)

            let mine = try await harness.request(.GET, "/v1/orders/\(id)", shopper: "ivy")
            #expect(mine.status == 200)
            #expect(mine.body == created.body)
            #expect(try await harness.request(.GET, "/v1/orders/\(id)", shopper: "jack").status == 404)
            #expect(try await harness.request(.GET, "/v1/orders/not-a-uuid", shopper: "ivy").status == 404)
            #expect(try await harness.request(.GET, "/v1/orders/\(id)").status == 401)
        }
    }
}
