import FlashSale
import FlashSaleTestSupport
import PostgresNIO
import Synchronization
import Testing

@Suite("SaleCatalog over PostgreSQL: items per SKU, one load per id, bounded memory")
struct SaleCatalogTests {
    @Test func unknownSaleIDsCostOneLoadEachAndStayWithinTheCap() async throws {
        try await TestDatabase.withFreshDatabase { _, postgres in
            try await Migrator(client: postgres, logger: TestDatabase.logger).migrate(try TestDatabase.migrations)
            let source = CountingSaleSource(SaleRepository(postgres: postgres, logger: TestDatabase.logger))
            let limits = SaleCatalog.Limits()
            let catalog = SaleCatalog(repository: source, limits: limits)
            let ids = 100_000
            let lanes = 16
            // Each id is asked by two callers at once, as a flood of one id asks it many times.
            let (found, largest) = try await withThrowingTaskGroup(of: (Int, Int).self) { group in
                for lane in 0..<lanes {
                    group.addTask {
                        var found = 0
                        var largest = 0
                        for index in stride(from: lane, to: ids, by: lanes) {
                            async let first = catalog.sale("unknown-\(index)")
                            async let second = catalog.sale("unknown-\(index)")
                            if try await first != nil { found += 1 }
                            if try await second != nil { found += 1 }
                            largest = max(largest, catalog.salesHeld)
                        }
                        return (found, largest)
                    }
                }
                return try await group.reduce(into: (0, 0)) { $0 = ($0.0 + $1.0, max($0.1, $1.1)) }
            }
            #expect(found == 0)
            let loads = source.saleLoads
            #expect(loads.count == ids)
            #expect(loads.values.max() == 1)
            #expect(largest <= limits.sales)
            #expect(catalog.salesHeld <= limits.sales)
        }
    }

    @Test func itemsAreLoadedPerSKUAndPagedNeverAsAWholeSale() async throws {
        try await TestDatabase.withFreshDatabase { _, postgres in
            try await Migrator(client: postgres, logger: TestDatabase.logger).migrate(try TestDatabase.migrations)
            try await postgres.query(
                "INSERT INTO sales (id, name, starts_at, ends_at) VALUES ('big', 'Big', now(), now() + interval '1 day')",
                logger: TestDatabase.logger)
            try await postgres.query(
                """
                INSERT INTO inventory (sale_id, sku, name, price_cents, initial_stock, available, per_shopper_limit)
                SELECT 'big', 'sku-' || lpad(i::text, 5, '0'), 'Item ' || i, 100 + i, 10, 10, 2
                FROM generate_series(1, 5000) AS i
                """, logger: TestDatabase.logger)
            let source = CountingSaleSource(SaleRepository(postgres: postgres, logger: TestDatabase.logger))
            let catalog = SaleCatalog(repository: source)

            let items = try await withThrowingTaskGroup(of: SaleItem?.self) { group in
                for _ in 0..<50 { group.addTask { try await catalog.item(saleID: "big", sku: "sku-00042") } }
                return try await group.reduce(into: [SaleItem?]()) { $0.append($1) }
            }
            #expect(Set(items.map { $0?.priceCents }) == [142])
            #expect(source.itemLoads == ["big/sku-00042": 1])
            #expect(try await catalog.item(saleID: "big", sku: "sku-99999") == nil)
            // Not a possible SKU (the schema's pattern): answered without a load.
            #expect(try await catalog.item(saleID: "big", sku: "no such sku") == nil)
            #expect(source.itemLoads.count == 2)

            let big = try #require(try await catalog.sale("big"))
            var skus: [String] = []
            var after: String?
            repeat {
                let page = try await catalog.items(of: big, after: after, limit: 100)
                skus += page.items.map(\.sku)
                after = page.nextAfter
            } while after != nil
            #expect(skus.count == 5000)
            #expect(skus == skus.sorted())
            #expect(Set(skus).count == 5000)
            #expect(source.pageLoads == 50)
        }
    }

    /// A hot SKU of a large sale used to be asked of PostgreSQL every two seconds, for each of the
    /// thousands in use; now only the sale header is, and the item follows its catalog version.
    @Test func anItemIsLoadedOncePerCatalogVersionAndAReseedShowsUp() async throws {
        try await TestDatabase.withFreshDatabase { _, postgres in
            try await Migrator(client: postgres, logger: TestDatabase.logger).migrate(try TestDatabase.migrations)
            try await postgres.query(
                """
                INSERT INTO sales (id, name, starts_at, ends_at) VALUES ('v', 'V', now(), now() + interval '1 day');
                """, logger: TestDatabase.logger)
            try await postgres.query(
                """
                INSERT INTO inventory (sale_id, sku, name, price_cents, initial_stock, available, per_shopper_limit)
                VALUES ('v', 'mug', 'Mug', 900, 10, 10, 1)
                """, logger: TestDatabase.logger)
            let source = CountingSaleSource(SaleRepository(postgres: postgres, logger: TestDatabase.logger))
            let clock = ManualClock()
            let limits = SaleCatalog.Limits()
            let catalog = SaleCatalog(repository: source, limits: limits, now: clock.now)

            for _ in 0..<10 {
                #expect(try await catalog.item(saleID: "v", sku: "mug")?.priceCents == 900)
                clock.advance(by: limits.timeToLive * 2)
            }
            // The header was asked again meanwhile (in the background, so waited for); the item was not.
            try await waitUntil { source.saleLoads["v", default: 0] > 1 }
            #expect(source.itemLoads == ["v/mug": 1])

            // What a seed that changes the item does, in one transaction.
            try await postgres.withTransaction(logger: TestDatabase.logger) { connection in
                try await connection.query(
                    "UPDATE inventory SET price_cents = 950 WHERE sale_id = 'v' AND sku = 'mug'",
                    logger: TestDatabase.logger)
                try await connection.query(
                    "UPDATE sales SET catalog_version = catalog_version + 1 WHERE id = 'v'", logger: TestDatabase.logger)
            }
            clock.advance(by: limits.timeToLive * 2)
            // The first read after the header's time to live answers the stale header and refreshes it.
            try await waitUntil { try await catalog.item(saleID: "v", sku: "mug")?.priceCents == 950 }
            #expect(source.itemLoads == ["v/mug": 2])
        }
    }
}

/// The PostgreSQL source, counting what the catalog asks of it.
final class CountingSaleSource: SaleSource {
    private let source: SaleRepository
    private let counts = Mutex((sales: [String: Int](), items: [String: Int](), pages: 0))

    init(_ source: SaleRepository) { self.source = source }

    var saleLoads: [String: Int] { counts.withLock { $0.sales } }
    var itemLoads: [String: Int] { counts.withLock { $0.items } }
    var pageLoads: Int { counts.withLock { $0.pages } }

    func sale(_ id: String) async throws -> Sale? {
        counts.withLock { $0.sales[id, default: 0] += 1 }
        return try await source.sale(id)
    }

    func item(saleID: String, sku: String) async throws -> SaleItem? {
        counts.withLock { $0.items["\(saleID)/\(sku)", default: 0] += 1 }
        return try await source.item(saleID: saleID, sku: sku)
    }

    func items(ofSale saleID: String, after: String?, limit: Int) async throws -> SaleItemPage {
        counts.withLock { $0.pages += 1 }
        return try await source.items(ofSale: saleID, after: after, limit: limit)
    }
}
