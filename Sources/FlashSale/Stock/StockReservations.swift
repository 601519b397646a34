import Logging
import RedisClient

/// The Redis side of a purchase: reserve (one script, one round trip), then either finalize or
/// compensate; and the release of a cancelled or expired order's units.
public struct StockReservations: Sendable {
    /// Idempotency records outlive their token (5 minutes) so late retries still get their replay.
    public static let recordLifetimeSeconds: Int64 = 24 * 3600
    /// A released-order marker outlives any retry of that release (cancel retries, worker reruns).
    static let releaseMarkerLifetimeSeconds: Int64 = 7 * 24 * 3600

    let redis: RedisClient
    /// The SKUs this process knows to be sold out; units given back here clear them at once.
    public let soldOut: SoldOutSKUs

    public init(redis: RedisClient, soldOut: SoldOutSKUs = SoldOutSKUs()) {
        self.redis = redis
        self.soldOut = soldOut
    }

    public enum Reservation: Sendable, Equatable {
        /// `version`: the SKU's change count after this purchase.
        case won(remaining: Int64, version: Int64)
        /// `stock`: what is left (less than asked); `version`: the SKU's change count.
        case soldOut(stock: Int64, version: Int64)
        case purchaseLimit
        case inProgress
        case invalidToken
        case keyReused
        /// The SKU's stock is not in Redis (never primed, or Redis lost its data).
        case notStocked
        case replay(outcome: String, body: [UInt8])
    }

    public func reserve(
        saleID: String, sku: String, token: String, shopperID: String, quantity: Int64, limit: Int64,
        fingerprint: String
    ) async throws -> Reservation {
        let script = StockScripts.Reserve(
            RedisKeys(saleID: saleID), sku: sku, token: token, shopper: shopperID, quantity: quantity, limit: limit,
            fingerprint: fingerprint, recordSeconds: Self.recordLifetimeSeconds)
        let reply = try await redis.run(
            StockScripts.Reserve.script, keys: script.keys, arguments: script.arguments, affinity: Self.affinity(token))
        guard let fields = reply.array, let kind = fields.first?.string else {
            throw RedisError.protocolError("reserve script answered \(reply)")
        }
        /// The integer at `index` of the answer, 0 when absent.
        func number(_ index: Int) -> Int64 { fields.count > index ? fields[index].integer ?? 0 : 0 }
        switch kind {
        case "won": return .won(remaining: number(1), version: number(2))
        case "sold_out": return .soldOut(stock: number(1), version: number(2))
        case "purchase_limit": return .purchaseLimit
        case "in_progress": return .inProgress
        case "invalid_token": return .invalidToken
        case "key_reused": return .keyReused
        case "not_stocked": return .notStocked
        case "replay":
            return .replay(
                outcome: fields.count > 1 ? fields[1].string ?? "" : "",
                body: fields.count > 2 ? fields[2].bytes ?? [] : [])
        default: throw RedisError.protocolError("reserve script answered \(kind)")
        }
    }

    /// The order committed: keep its response for replays and drop the ledger entry. Does not wait
    /// for Redis: the script is queued on the connection the token's reserve used, ahead of any
    /// later attempt with the token, so a retry after the 201 finds the response. A failure is
    /// handed to `onFailure`; the ledger sweep finishes what it left undone.
    public func finalize(
        saleID: String, token: String, body: [UInt8], onFailure: @escaping @Sendable (any Error) -> Void
    ) {
        let script = StockScripts.Finalize(RedisKeys(saleID: saleID), token: token, body: body)
        redis.run(
            StockScripts.Finalize.script, keys: script.keys, arguments: script.arguments, affinity: Self.affinity(token)
        ) { result in
            if case .failure(let error) = result { onFailure(error) }
        }
    }

    /// ``finalize(saleID:token:body:onFailure:)`` awaited: the ledger sweep finishing a committed
    /// order the purchase path could not.
    public func finalize(saleID: String, token: String, body: [UInt8]) async throws {
        let script = StockScripts.Finalize(RedisKeys(saleID: saleID), token: token, body: body)
        _ = try await redis.run(
            StockScripts.Finalize.script, keys: script.keys, arguments: script.arguments, affinity: Self.affinity(token))
    }

    /// The order did not commit: give back the units and the shopper's count (once).
    @discardableResult
    public func compensate(saleID: String, sku: String, token: String, shopperID: String, quantity: Int64)
        async throws -> Bool
    {
        let script = StockScripts.Compensate(
            RedisKeys(saleID: saleID), sku: sku, token: token, shopper: shopperID, quantity: quantity)
        let reply = try await redis.run(
            StockScripts.Compensate.script, keys: script.keys, arguments: script.arguments, affinity: Self.affinity(token))
        if reply == .integer(1) { soldOut.stockReturned(saleID: saleID, sku: sku) }
        return reply == .integer(1)
    }

    /// A cancelled or expired order's units go back to Redis, once per order.
    @discardableResult
    public func release(saleID: String, sku: String, orderID: String, shopperID: String, quantity: Int64)
        async throws -> Bool
    {
        let script = StockScripts.Release(
            RedisKeys(saleID: saleID), sku: sku, order: orderID, shopper: shopperID, quantity: quantity,
            markerSeconds: Self.releaseMarkerLifetimeSeconds)
        let reply = try await redis.run(StockScripts.Release.script, keys: script.keys, arguments: script.arguments)
        if reply == .integer(1) { soldOut.stockReturned(saleID: saleID, sku: sku) }
        return reply == .integer(1)
    }

    /// The SKU's units left in Redis and its change count (one MGET): how a sold-out mark is checked.
    public func stockAndVersion(saleID: String, sku: String) async throws -> (stock: Int64?, version: Int64) {
        let keys = RedisKeys(saleID: saleID)
        let reply = try await redis.send("MGET", .string(keys.stock(sku)), .string(keys.changes(sku)))
        guard let values = reply.array, values.count == 2 else { throw RedisError.protocolError("MGET answered \(reply)") }
        return (values[0].isNull ? nil : values[0].integer, values[1].integer ?? 0)
    }

    /// Every command about one checkout token goes over one connection, so Redis runs them in order.
    static func affinity(_ token: String) -> Int { token.hashValue }

    /// Units left in Redis per SKU (one MGET), nil for a SKU not stocked there.
    public func available(saleID: String, skus: [String]) async throws -> [Int64?] {
        guard !skus.isEmpty else { return [] }
        let keys = RedisKeys(saleID: saleID)
        let reply = try await redis.send(["MGET"] + skus.map { .string(keys.stock($0)) })
        guard let values = reply.array, values.count == skus.count else {
            throw RedisError.protocolError("MGET answered \(reply)")
        }
        return values.map { $0.isNull ? nil : $0.integer }
    }
}
