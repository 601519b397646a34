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
    /// SKUs that kept changing during every attempt (selling right now), so no consistent
    /// comparison was possible. A repair fences such SKUs for its last attempts, so for it this
    /// takes purchases failing and being given back during each of those.
    public var busySKUs: [String] = []
    /// The most attempts one batch of SKUs took (an attempt is refused where anything changed).
    public var attempts = 0
    /// SKUs a repair compared behind its fence, after they changed during every unfenced attempt.
    public var fencedSKUs = 0

    public var isClean: Bool { differenceCount == 0 && countsDiffering == 0 && busySKUs.isEmpty }
}
