import RedisClient

/// Writes a sale's stock of record into Redis for the operator's commands: priming after a seed,
/// applying a forced stock change to a live sale, removing SKUs that are gone.
public struct StockPriming: Sendable {
    /// Keys per command: large enough to amortise round trips, small enough not to stall Redis.
    static let batchSize = 1_000

    let redis: RedisClient

    public init(redis: RedisClient) {
        self.redis = redis
    }

    /// Writes `stocks` (sku, units). `overwrite` replaces what is there; otherwise only missing keys
    /// are set, so a live sale's deductions are never undone.
    public func set(saleID: String, _ stocks: [(sku: String, units: Int64)], overwrite: Bool) async throws {
        let keys = RedisKeys(saleID: saleID)
        for batch in stocks.batches(of: Self.batchSize) {
            if overwrite {
                var command: [RedisArgument] = ["MSET"]
                command.reserveCapacity(1 + 2 * batch.count)
                for (sku, units) in batch {
                    command.append(.string(keys.stock(sku)))
                    command.append(.integer(units))
                }
                _ = try await redis.send(command)
            } else {
                _ = try await redis.run(
                    StockPrimingScripts.setMissing, keys: batch.map { .string(keys.stock($0.sku)) },
                    arguments: batch.map { .integer($0.units) })
            }
        }
    }

    /// Adds each delta to the SKU's stock where Redis has it.
    public func adjust(saleID: String, _ deltas: [(sku: String, units: Int64)]) async throws {
        let keys = RedisKeys(saleID: saleID)
        for batch in deltas.batches(of: Self.batchSize) {
            _ = try await redis.run(
                StockPrimingScripts.adjustExisting, keys: batch.map { .string(keys.stock($0.sku)) },
                arguments: batch.map { .integer($0.units) })
        }
    }

    /// Takes units out of Redis stock, all or none. Returns the first SKU short of unsold units.
    public func withdraw(saleID: String, _ amounts: [(sku: String, units: Int64)]) async throws -> String? {
        guard !amounts.isEmpty else { return nil }
        let keys = RedisKeys(saleID: saleID)
        let reply = try await redis.run(
            StockPrimingScripts.withdraw, keys: amounts.map { .string(keys.stock($0.sku)) },
            arguments: amounts.map { .integer($0.units) })
        guard let index = reply.integer else { throw RedisError.protocolError("withdraw answered \(reply)") }
        return index == 0 ? nil : amounts[Int(index) - 1].sku
    }

    /// Records that the sale's stock and counts are in Redis: a Redis that loses its data loses this
    /// too, and the worker re-primes a sale that is not over and lacks it.
    public func markPrimed(saleID: String) async throws {
        _ = try await redis.send("SET", .string(RedisKeys(saleID: saleID).primed), "1")
    }

    public func remove(saleID: String, skus: [String]) async throws {
        let keys = RedisKeys(saleID: saleID)
        for batch in skus.batches(of: Self.batchSize) {
            _ = try await redis.send(["DEL"] + batch.map { .string(keys.stock($0)) })
        }
    }
}

extension Array {
    /// Consecutive slices of at most `size` elements.
    func batches(of size: Int) -> [ArraySlice<Element>] {
        stride(from: 0, to: count, by: size).map { self[$0..<Swift.min($0 + size, count)] }
    }
}
