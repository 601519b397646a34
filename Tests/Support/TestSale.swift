import FlashSale
import Foundation
import Logging
import PostgresNIO
import RedisClient

/// A sale written straight into PostgreSQL and Redis, as the seed command will, for tests.
public struct TestSale: Sendable {
    public let id: String
    public let sku: String
    public let stock: Int64
    public let perShopperLimit: Int64
    public let priceCents: Int64

    public init(
        id: String = "sale-\(UInt32.random(in: 0..<UInt32.max))", sku: String = "hot-sku", stock: Int64,
        perShopperLimit: Int64 = 5, priceCents: Int64 = 1999
    ) {
        self.id = id
        self.sku = sku
        self.stock = stock
        self.perShopperLimit = perShopperLimit
        self.priceCents = priceCents
    }

    /// Inserts the sale (open from an hour ago for `open` hours) and primes Redis' stock.
    public func create(postgres: PostgresClient, redis: RedisClient, startsInHours: Double = -1, hours: Double = 2)
        async throws
    {
        try await createInPostgres(postgres, startsInHours: startsInHours, hours: hours)
        _ = try await redis.send("SET", .string(RedisKeys(saleID: id).stock(sku)), .integer(stock))
        try await StockPriming(redis: redis).markPrimed(saleID: id)
    }

    /// The sale and its item in PostgreSQL only, for tests of the write path below Redis.
    public func createInPostgres(_ postgres: PostgresClient, startsInHours: Double = -1, hours: Double = 2)
        async throws
    {
        let logger = Logger(label: "test")
        let startsAt = Date().addingTimeInterval(startsInHours * 3600)
        let endsAt = startsAt.addingTimeInterval(hours * 3600)
        try await postgres.query(
            "INSERT INTO sales (id, name, starts_at, ends_at) VALUES (\(id), 'Test sale', \(startsAt), \(endsAt))",
            logger: logger)
        try await postgres.query(
            """
            INSERT INTO inventory (sale_id, sku, name, price_cents, initial_stock, available, per_shopper_limit)
            VALUES (\(id), \(sku), 'Hot item', \(priceCents), \(Int32(stock)), \(Int32(stock)), \(Int32(perShopperLimit)))
            """, logger: logger)
    }

    /// Winners' orders of one unit of this item, shopper `s<i>` with checkout token `<tokenPrefix>-<i>`
    /// for i in `indices`, as the purchase workflow hands them to a committer.
    public func pendingOrders(_ indices: Range<Int>, tokenPrefix: String) -> [PendingOrder] {
        indices.map {
            PendingOrder(
                saleID: id, sku: sku, shopperID: "s\($0)", quantity: 1, amountCents: priceCents,
                checkoutToken: "\(tokenPrefix)-\($0)", paymentWindowSeconds: 600)
        }
    }
}
