/// The Redis key layout of DESIGN.md. The sale id is the hash tag, so one sale's keys share a
/// Redis Cluster slot and one Lua script may touch all of them.
public struct RedisKeys: Sendable {
    public let saleID: String

    public init(saleID: String) {
        self.saleID = saleID
    }

    /// Every key of the sale starts with this (the admin scripts build a few keys from it).
    public var prefix: String { "fs:{\(saleID)}:" }

    public func stock(_ sku: String) -> String { prefix + "stock:" + sku }
    public func token(_ token: String) -> String { prefix + "tok:" + token }
    public func idempotency(_ token: String) -> String { prefix + "idem:" + token }
    public func bought(shopper: String, sku: String) -> String { prefix + "bought:" + shopper + ":" + sku }
    /// Reservations deducted in Redis whose PostgreSQL order is not committed yet (a sorted set by time).
    public var reservations: String { prefix + "resv" }
    /// Marks an order whose stock went back to Redis, so a release runs once.
    public func released(order: String) -> String { prefix + "released:" + order }
    /// Set once the sale's stock and per-shopper counts are in Redis (seed, repair). Its absence on
    /// a sale that is not over means Redis lost its data: the worker re-primes the sale.
    public var primed: String { prefix + "primed" }
    /// Held by the one worker re-priming the sale.
    public var priming: String { prefix + "priming" }
}
