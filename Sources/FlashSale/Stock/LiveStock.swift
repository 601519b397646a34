import Logging

/// Units left of some SKUs, for reads: Redis' live count, one round trip for any number of SKUs.
/// PostgreSQL's stock of record only when Redis cannot answer (down, or a key missing while the
/// worker re-primes a Redis that lost its data), and the answer says which.
public struct LiveStock: Sendable {
    public enum Source: String, Sendable {
        case redis, database
    }

    let reservations: StockReservations
    let repository: SaleRepository
    let logger: Logger

    /// How long the fallback waits on PostgreSQL.
    public static let fallbackTimeout = Duration.seconds(3)

    public init(reservations: StockReservations, repository: SaleRepository, logger: Logger) {
        self.reservations = reservations
        self.repository = repository
        self.logger = logger
    }

    /// The count of each SKU in `skus`, in that order, never below 0.
    public func available(saleID: String, skus: [String]) async throws -> (counts: [Int64], source: Source) {
        guard !skus.isEmpty else { return ([], .redis) }
        do {
            let counts = try await reservations.available(saleID: saleID, skus: skus)
            if counts.allSatisfy({ $0 != nil }) { return (counts.map { max(0, $0 ?? 0) }, .redis) }
            logger.warning("stock missing in Redis for a read; serving PostgreSQL's", metadata: ["sale": "\(saleID)"])
        } catch {
            logger.warning("Redis unavailable for stock reads; serving PostgreSQL's", metadata: ["error": "\(error)"])
        }
        let repository = self.repository
        let stored = try await Deadline.run(Self.fallbackTimeout) {
            try await repository.available(saleID: saleID, skus: skus)
        }
        return (skus.map { max(0, stored[$0] ?? 0) }, .database)
    }
}
