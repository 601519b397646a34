import FlashSaleTestSupport
import Foundation
import Testing

@Suite("GET /v1/sales/{sale_id}/orders: the caller's own orders, newest first, a page at a time")
struct ShopperOrdersTests {
    @Test func aShopperFindsOwnOrdersNewestFirstAPageAtATime() async throws {
        try await PurchaseHarness.run(TestSale(stock: 20, perShopperLimit: 5)) { harness in
            var placed: [String] = []
            for _ in 0..<5 {
                let created = try await harness.order(shopper: "ivy", token: try await harness.checkoutToken(for: "ivy"))
                placed.append(try #require(created.json["order_id"] as? String))
            }
            let other = try await harness.order(shopper: "jack", token: try await harness.checkoutToken(for: "jack"))
            let jacks = try #require(other.json["order_id"] as? String)
            let path = "/v1/sales/\(harness.sale.id)/orders"

            var listed: [String] = []
            var cursor: String?
            var pages = 0
            repeat {
                let reply = try await harness.request(
                    .GET, path + "?limit=2" + (cursor.map { "&cursor=\($0)" } ?? ""), shopper: "ivy")
                #expect(reply.status == 200)
                #expect(reply.headers["Cache-Control"] == ["private, no-store"])
                let orders = try #require(reply.json["orders"] as? [[String: Any]])
                #expect(orders.count <= 2)
                #expect(
                    orders.allSatisfy { $0["sale_id"] as? String == harness.sale.id && $0["status"] as? String == "reserved" })
                listed += orders.compactMap { $0["order_id"] as? String }
                cursor = reply.json["next_cursor"] as? String
                #expect(cursor != nil || reply.json["next_cursor"] is NSNull)
                pages += 1
            } while cursor != nil && pages < 10
            #expect(pages == 3)
            #expect(listed == placed.reversed())

            let all = try await harness.request(.GET, path, shopper: "ivy")
            #expect((all.json["orders"] as? [[String: Any]])?.compactMap { $0["order_id"] as? String } == placed.reversed())
            #expect(all.json["next_cursor"] is NSNull)
            // The 201's body, found again.
            let first = try #require((all.json["orders"] as? [[String: Any]])?.last)
            let mine = try await harness.request(.GET, "/v1/orders/\(placed[0])", shopper: "ivy")
            #expect(NSDictionary(dictionary: first).isEqual(to: mine.json))

            let jack = try await harness.request(.GET, path, shopper: "jack")
            #expect((jack.json["orders"] as? [[String: Any]])?.compactMap { $0["order_id"] as? String } == [jacks])
            let nobody = try await harness.request(.GET, path, shopper: "kim")
            #expect((nobody.json["orders"] as? [[String: Any]])?.isEmpty == true)
            #expect(nobody.json["next_cursor"] is NSNull)
        }
    }

    @Test func strangersUnknownSalesAndBadPagesAreRefused() async throws {
        try await PurchaseHarness.run(TestSale(stock: 20, perShopperLimit: 5)) { harness in
            let path = "/v1/sales/\(harness.sale.id)/orders"
            #expect(try await harness.request(.GET, path).status == 401)
            let unknown = try await harness.request(.GET, "/v1/sales/no-such-sale/orders", shopper: "ivy")
            #expect(unknown.status == 404)
            #expect(unknown.code == "not_found")

            // A cursor naming another shopper's order is no way into their list: an empty page.
            _ = try await harness.order(shopper: "jack", token: try await harness.checkoutToken(for: "jack"))
            _ = try await harness.order(shopper: "jack", token: try await harness.checkoutToken(for: "jack"))
            let jacks = try await harness.request(.GET, path + "?limit=1", shopper: "jack")
            let cursor = try #require(jacks.json["next_cursor"] as? String)
            let borrowed = try await harness.request(.GET, path + "?cursor=\(cursor)", shopper: "ivy")
            #expect(borrowed.status == 200)
            #expect((borrowed.json["orders"] as? [[String: Any]])?.isEmpty == true)

            // base64url of "sku:hot-sku": a cursor of the sale's item list, not of this one.
            for query in [
                "limit=0", "limit=101", "limit=1000000000", "limit=-1", "cursor=garbage", "cursor=%25%25",
                "cursor=c2t1OmhvdC1za3U",
            ] {
                let reply = try await harness.request(.GET, path + "?" + query, shopper: "ivy")
                #expect(reply.status == 400, "\(query)")
                #expect(reply.code == "invalid_request", "\(query)")
                #expect(reply.headers["Content-Type"] == ["application/problem+json"], "\(query)")
            }
        }
    }
}
