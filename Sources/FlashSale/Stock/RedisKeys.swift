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
    /// Counts the changes to the SKU's stock and its shoppers' counts: bumped by the purchase that
    /// wins units, the compensation that gives them back and the release of a cancelled or expired
    /// order, never by the repair. The repair compares it with what it read before it writes.
    public func changes(_ sku: String) -> String { prefix + "changes:" + sku }
    /// While it exists, a purchase of the SKU that would win units is turned away with its token
    /// kept: the repair's last resort on a SKU selling too fast to compare (see `RepairFence`).
    public func repairFence(_ sku: String) -> String { prefix + "fence:" + sku }
    /// Marks an order whose stock went back to Redis, so a release runs once.
    public func released(order: String) -> String { prefix + "released:" + order }
    /// Set once the sale's stock and per-shopper counts are in Redis (seed, repair). Its absence on
    /// a sale that is not over means Redis lost its data: the worker re-primes the sale.
    public var primed: String { prefix + "primed" }
    /// Held by the one worker re-priming the sale.
    public var priming: String { prefix + "priming" }
}
