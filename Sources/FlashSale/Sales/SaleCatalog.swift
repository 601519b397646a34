import Foundation
import Synchronization

/// What the purchase path needs to know of a sale and its items, kept in memory for a short while.
///
/// Every purchase attempt checks the sale window, the price and the per-shopper limit; reading
/// them from PostgreSQL each time would put the database on the path of every sold-out answer.
/// Names, prices and limits change rarely (an operator's re-seed), so a few seconds of staleness is fine.
/// Stock is never cached here: Redis and PostgreSQL own it.
public final class SaleCatalog: Sendable {
    public struct Entry: Sendable {
        public let sale: Sale
        public let items: [String: SaleItem]
    }

    private struct Cached: Sendable {
        let entry: Entry?
        let loadedAt: ContinuousClock.Instant
    }

    /// A read of the catalog gives up after this, so a down database costs shoppers seconds, not minutes.
    public static let loadTimeout = Duration.seconds(3)

    private let repository: SaleRepository
    private let timeToLive: Duration
    private let cache = Mutex<[String: Cached]>([:])

    public init(repository: SaleRepository, timeToLive: Duration = .seconds(2)) {
        self.repository = repository
        self.timeToLive = timeToLive
    }

    /// The sale and its items, or nil when there is no such sale.
    public func entry(_ saleID: String) async throws -> Entry? {
        let now = ContinuousClock.now
        if let cached = cache.withLock({ $0[saleID] }), now - cached.loadedAt < timeToLive {
            return cached.entry
        }
        let repository = self.repository
        let loaded = try await Deadline.run(Self.loadTimeout) { () -> Entry? in
            guard let sale = try await repository.sale(saleID) else { return nil }
            let items = try await repository.items(ofSale: saleID)
            return Entry(sale: sale, items: Dictionary(uniqueKeysWithValues: items.map { ($0.sku, $0) }))
        }
        cache.withLock { $0[saleID] = Cached(entry: loaded, loadedAt: now) }
        return loaded
    }
}
