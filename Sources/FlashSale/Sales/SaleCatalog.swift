import Foundation

/// What the purchase path and the reads need to know of sales and their items, kept in memory for a
/// short while: sale headers, items one SKU at a time, and pages of a sale's items.
///
/// Every purchase attempt checks the sale window, the price and the per-shopper limit; reading them
/// from PostgreSQL each time would put the database on the path of every sold-out answer. Names,
/// prices and limits change rarely (an operator's re-seed), so a few seconds of staleness is fine.
/// Items are looked up per SKU, never a whole sale at once: a sale of a million SKUs costs what a
/// sale of three does. Items (and pages of them) are kept per catalog version of their sale: only
/// the small sale header is asked again every few seconds, and a re-seed, which moves the version,
/// shows up with it. Without that, each SKU in use cost a query every `timeToLive`: 500 a second
/// for a thousand hot SKUs of a large sale. Each cache is bounded and loads a key once however many
/// requests want it (`SingleFlightCache`), so client-chosen ids cannot grow memory or multiply
/// database queries.
/// Stock is never cached here: Redis and PostgreSQL own it.
public final class SaleCatalog: Sendable {
    public struct Limits: Sendable {
        public var sales: Int = 1_000
        public var items: Int = 50_000
        public var pages: Int = 512
        /// A sale header is fresh this long; then answered stale (while one refresh runs) up to `staleFor` more.
        public var timeToLive: Duration = .seconds(2)
        /// Items and pages under one catalog version do not change; this only lets unused ones go.
        public var itemTimeToLive: Duration = .seconds(300)
        public var staleFor: Duration = .seconds(60)
        /// An unknown sale or SKU is asked about again after this: one created a moment later shows up.
        public var notFoundFor: Duration = .seconds(1)
        /// A read of the catalog gives up after this, so a down database costs shoppers seconds, not minutes.
        public var loadTimeout: Duration = .seconds(3)

        public init() {}

        func policy(capacity: Int, timeToLive: Duration) -> CachePolicy {
            .init(
                capacity: capacity, timeToLive: timeToLive, staleFor: staleFor, negativeTimeToLive: notFoundFor,
                loadTimeout: loadTimeout)
        }
    }

    struct ItemKey: Hashable, Sendable {
        let saleID: String
        let catalogVersion: Int64
        let sku: String
    }

    struct PageKey: Hashable, Sendable {
        let saleID: String
        let catalogVersion: Int64
        let after: String?
        let limit: Int
    }

    private let saleCache: SingleFlightCache<String, Sale>
    private let itemCache: SingleFlightCache<ItemKey, SaleItem>
    private let pageCache: SingleFlightCache<PageKey, SaleItemPage>

    public init(
        repository source: some SaleSource, limits: Limits = Limits(),
        now: @escaping @Sendable () -> ContinuousClock.Instant = { .now }
    ) {
        saleCache = SingleFlightCache(policy: limits.policy(capacity: limits.sales, timeToLive: limits.timeToLive), now: now) {
            try await source.sale($0)
        }
        itemCache = SingleFlightCache(
            policy: limits.policy(capacity: limits.items, timeToLive: limits.itemTimeToLive), now: now
        ) {
            try await source.item(saleID: $0.saleID, sku: $0.sku)
        }
        pageCache = SingleFlightCache(
            policy: limits.policy(capacity: limits.pages, timeToLive: limits.itemTimeToLive), now: now
        ) {
            try await source.items(ofSale: $0.saleID, after: $0.after, limit: $0.limit)
        }
    }

    /// The sale, or nil when there is none.
    public func sale(_ id: String) async throws -> Sale? {
        guard Self.canExist(id) else { return nil }
        return try await saleCache.value(for: id)
    }

    /// The item, or nil when the sale has no such SKU (or there is no such sale).
    public func item(saleID: String, sku: String) async throws -> SaleItem? {
        guard Self.canExist(sku), let sale = try await sale(saleID) else { return nil }
        return try await item(of: sale, sku: sku)
    }

    /// The item of a sale already in hand, or nil when it has no such SKU.
    public func item(of sale: Sale, sku: String) async throws -> SaleItem? {
        guard Self.canExist(sku) else { return nil }
        return try await itemCache.value(for: ItemKey(saleID: sale.id, catalogVersion: sale.catalogVersion, sku: sku))
    }

    /// Up to `limit` items of the sale, in SKU order, after the SKU `after` (from the first when nil).
    public func items(of sale: Sale, after: String?, limit: Int) async throws -> SaleItemPage {
        guard after.map(Self.canExist) ?? true else { return SaleItemPage(items: [], nextAfter: nil) }
        let key = PageKey(saleID: sale.id, catalogVersion: sale.catalogVersion, after: after, limit: limit)
        return try await pageCache.value(for: key) ?? SaleItemPage(items: [], nextAfter: nil)
    }

    /// Entries held by the sale-header cache (tests: it stays within its cap).
    public var salesHeld: Int { saleCache.count }

    /// Whether `id` could name a sale or a SKU: the schema allows 1 to 64 of `A-Z a-z 0-9 _ . -`.
    /// Anything else is answered "no such thing" without a load and without a cache entry, which
    /// also bounds the size of every key the caches hold.
    public static func canExist(_ id: String) -> Bool {
        (1...64).contains(id.utf8.count)
            && id.utf8.allSatisfy { byte in
                switch byte {
                case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                    UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "-"):
                    true
                default: false
                }
            }
    }
}
