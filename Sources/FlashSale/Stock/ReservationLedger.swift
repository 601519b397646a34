import RedisClient

/// The reservation ledger of a sale (`fs:{S}:resv`): checkout tokens whose units were deducted in
/// Redis and whose order PostgreSQL has not confirmed yet, scored by the time of the deduction.
/// An entry the purchase path never cleared (a crash, an outcome it could not learn) is the
/// worker's to settle: see the ledger sweep.
public struct ReservationLedger: Sendable {
    let redis: RedisClient

    public init(redis: RedisClient) {
        self.redis = redis
    }

    public struct Entry: Sendable, Equatable {
        public let token: String
        /// From the token's idempotency record; nil when that record is gone.
        public let shopperID: String?
        public let sku: String?
        public let quantity: Int64?
    }

    /// Up to `limit` entries at least `age` old by Redis' clock, oldest first, with what their
    /// idempotency records say.
    public func entries(saleID: String, olderThan age: Duration, limit: Int) async throws -> [Entry] {
        let keys = RedisKeys(saleID: saleID)
        guard let now = try await redis.send("TIME").array?.first?.integer else {
            throw RedisError.protocolError("TIME answered without seconds")
        }
        let cutoff = now - age.components.seconds
        let tokens =
            try await redis.send(
                "ZRANGEBYSCORE", .string(keys.reservations), "-inf", .integer(cutoff), "LIMIT", "0", .integer(Int64(limit))
            ).array?.compactMap(\.string) ?? []
        return try await withThrowingTaskGroup(of: (Int, Entry).self) { group in
            for (index, token) in tokens.enumerated() {
                group.addTask {
                    let fields =
                        try await redis.send(
                            "HMGET", .string(keys.idempotency(token)), "shopper", "sku", "quantity"
                        ).array ?? []
                    let value = { (i: Int) in fields.count > i ? fields[i].string : nil }
                    return (
                        index,
                        Entry(token: token, shopperID: value(0), sku: value(1), quantity: value(2).flatMap { Int64($0) })
                    )
                }
            }
            var entries = [Entry?](repeating: nil, count: tokens.count)
            for try await (index, entry) in group { entries[index] = entry }
            return entries.compactMap { $0 }
        }
    }

    /// Drops an entry nothing can be learnt from (its record is gone). Answers whether it was there.
    @discardableResult
    public func forget(saleID: String, token: String) async throws -> Bool {
        try await redis.send("ZREM", .string(RedisKeys(saleID: saleID).reservations), .string(token)).integer == 1
    }
}
