/// One SKU whose Redis stock is not what PostgreSQL says it should be.
public struct StockDifference: Sendable, Equatable {
    public let sku: String
    public let postgresAvailable: Int64
    /// Units reserved in Redis whose order has not committed yet (the reservation ledger).
    public let inCheckout: Int64
    /// Units of cancelled orders not yet given back in Redis.
    public let releasesPending: Int64
    public let expectedRedis: Int64
    /// Nil when Redis has no stock key for the SKU.
    public let redis: Int64?
}

/// The outcome of comparing (or repairing) a sale's Redis state with PostgreSQL.
public struct ReconcileReport: Sendable {
    public var skusCompared = 0
    /// The first differences found (before repair, when repairing), at most `keptDifferences`.
    public var differences: [StockDifference] = []
    public var differenceCount = 0
    public static let keptDifferences = 100
    /// Per-shopper purchase counts that differed.
    public var countsDiffering = 0
    /// SKUs whose stock of record kept changing during every attempt (selling right now), so no
    /// consistent comparison was possible.
    public var busySKUs: [String] = []

    public var isClean: Bool { differenceCount == 0 && countsDiffering == 0 && busySKUs.isEmpty }
}
