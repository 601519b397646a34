import FlashSale
import FlashSaleTestSupport
import Foundation
import PostgresNIO
import RedisClient
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
            // A small sale: every item in one answer, and no page after it.
            #expect(items?.count == 1)
            #expect(sale.json["next_cursor"] is NSNull)

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

    @Test func aLargeSaleIsServedAPageAtATime() async throws {
        try await PurchaseHarness.run(TestSale(stock: 7)) { harness in
            let added = try await Self.addItems(249, to: harness)
            let salePath = "/v1/sales/\(harness.sale.id)"
            var skus: [String] = []
            var cursor: String?
            var pages = 0
            repeat {
                let reply = try await harness.request(.GET, salePath + (cursor.map { "?cursor=\($0)" } ?? ""))
                #expect(reply.status == 200)
                #expect(reply.headers["Stock-Source"] == ["redis"])
                #expect(reply.json["sale_id"] as? String == harness.sale.id)
                let items = try #require(reply.json["items"] as? [[String: Any]])
                #expect(items.count <= 100)
                #expect(items.allSatisfy { $0["available"] as? Int == 7 })
                skus += items.compactMap { $0["sku"] as? String }
                cursor = reply.json["next_cursor"] as? String
                pages += 1
            } while cursor != nil && pages < 10
            #expect(pages == 3)
            #expect(skus.count == 250)
            #expect(Set(skus) == Set(added + [harness.sale.sku]))

            let seven = try await harness.request(.GET, salePath + "?limit=7")
            #expect((seven.json["items"] as? [[String: Any]])?.count == 7)
            let next = try #require(seven.json["next_cursor"] as? String)
            let after = try await harness.request(.GET, salePath + "?limit=7&cursor=\(next)")
            #expect((after.json["items"] as? [[String: Any]])?.first?["sku"] as? String == skus[7])

            // base64url of "sku:" (no SKU) and of "order:x" (another list's cursor) are not cursors of this list.
            for query in [
                "limit=0", "limit=101", "limit=1000000000", "limit=ten", "cursor=garbage", "cursor=%25%25",
                "cursor=c2t1Og", "cursor=b3JkZXI6eA",
            ] {
                let reply = try await harness.request(.GET, salePath + "?" + query)
                #expect(reply.status == 400, "\(query)")
                #expect(reply.code == "invalid_request", "\(query)")
                #expect(reply.headers["Content-Type"] == ["application/problem+json"], "\(query)")
            }
        }
    }

    @Test func readsAreAnsweredFromMemoryAndRedisWhilePostgresIsLocked() async throws {
        try await PurchaseHarness.run(TestSale(stock: 7)) { harness in
            let salePath = "/v1/sales/\(harness.sale.id)"
            let itemPath = salePath + "/items/\(harness.sale.sku)"
            #expect(try await harness.request(.GET, salePath).status == 200)
            #expect(try await harness.request(.GET, itemPath).status == 200)
            // Any read of these tables now waits for this transaction: a read that queried PostgreSQL
            // would hit its deadline and answer 503.
            try await harness.postgres.withConnection { connection in
                try await connection.query("BEGIN", logger: PurchaseHarness.logger)
                try await connection.query(
                    "LOCK TABLE sales, inventory IN ACCESS EXCLUSIVE MODE", logger: PurchaseHarness.logger)
                do {
                    for _ in 0..<3 {
                        let item = try await harness.request(.GET, itemPath)
                        #expect(item.status == 200)
                        #expect(item.json["available"] as? Int == 7)
                        #expect(item.headers["Stock-Source"] == ["redis"])
                        let sale = try await harness.request(.GET, salePath)
                        #expect(sale.status == 200)
                        #expect((sale.json["items"] as? [[String: Any]])?.count == 1)
                    }
                } catch {
                    _ = try? await connection.query("ROLLBACK", logger: PurchaseHarness.logger)
                    throw error
                }
                try await connection.query("ROLLBACK", logger: PurchaseHarness.logger)
            }
        }
    }

    @Test func readsCarryAnETagAndAnswer304WhileUnchanged() async throws {
        try await PurchaseHarness.run(TestSale(stock: 7)) { harness in
            let salePath = "/v1/sales/\(harness.sale.id)"
            let itemPath = salePath + "/items/\(harness.sale.sku)"
            let item = try await harness.request(.GET, itemPath)
            let tag = try #require(item.headers["ETag"].first)
            #expect(tag.hasPrefix("\"") && tag.hasSuffix("\""))
            #expect(item.headers["Cache-Control"] == ["public, max-age=1"])
            for condition in [tag, "W/\(tag)", "\"0000000000000000\", \(tag)", "*"] {
                let unchanged = try await harness.request(.GET, itemPath, headers: [("If-None-Match", condition)])
                #expect(unchanged.status == 304, "\(condition)")
                #expect(unchanged.body.isEmpty)
                #expect(unchanged.headers["ETag"] == [tag])
                #expect(unchanged.headers["Cache-Control"] == ["public, max-age=1"])
            }
            let other = try await harness.request(.GET, itemPath, headers: [("If-None-Match", "\"0000000000000000\"")])
            #expect(other.status == 200)
            #expect(other.body == item.body)

            let sale = try await harness.request(.GET, salePath)
            let saleTag = try #require(sale.headers["ETag"].first)
            #expect(saleTag != tag)
            #expect(try await harness.request(.GET, salePath, headers: [("If-None-Match", saleTag)]).status == 304)

            // A sale changes the body, and so the tag.
            _ = try await harness.order(shopper: "kim", token: try await harness.checkoutToken(for: "kim"))
            let changed = try await harness.request(.GET, itemPath, headers: [("If-None-Match", tag)])
            #expect(changed.status == 200)
            #expect(changed.json["available"] as? Int == 6)
            #expect(changed.headers["ETag"].first != tag)
        }
    }

    /// `count` more SKUs of the harness' sale (`extra-001` …, 7 units each), in PostgreSQL and Redis.
    static func addItems(_ count: Int, to harness: PurchaseHarness) async throws -> [String] {
        let skus = (1...count).map { "extra-" + String(repeating: "0", count: 3 - String($0).count) + String($0) }
        try await harness.postgres.query(
            """
            INSERT INTO inventory (sale_id, sku, name, price_cents, initial_stock, available, per_shopper_limit)
            SELECT \(harness.sale.id), sku, 'Extra ' || sku, 500, 7, 7, 2 FROM unnest(\(skus)::text[]) AS sku
            """, logger: PurchaseHarness.logger)
        let keys = RedisKeys(saleID: harness.sale.id)
        for sku in skus { _ = try await harness.redis.send("SET", .string(keys.stock(sku)), .integer(7)) }
        return skus
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
