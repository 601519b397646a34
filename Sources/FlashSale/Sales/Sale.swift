import Foundation

/// A sale: a window of time in which its items can be bought.
public struct Sale: Sendable, Equatable {
    public let id: String
    public let name: String
    public let startsAt: Date
    public let endsAt: Date
    /// How long a reserved order may wait for payment before it expires.
    public let paymentWindowSeconds: Int64
    /// Moves whenever a seed changes the sale's items: what the catalog keys its items by.
    public let catalogVersion: Int64

    public init(
        id: String, name: String, startsAt: Date, endsAt: Date, paymentWindowSeconds: Int64, catalogVersion: Int64 = 1
    ) {
        self.id = id
        self.name = name
        self.startsAt = startsAt
        self.endsAt = endsAt
        self.paymentWindowSeconds = paymentWindowSeconds
        self.catalogVersion = catalogVersion
    }

    public func isActive(at instant: Date) -> Bool {
        startsAt <= instant && instant < endsAt
    }
}

/// One SKU of a sale, as the catalog keeps it: what changes only when an operator re-seeds.
/// Stock is not here: Redis and PostgreSQL own it, and a cached copy would be wrong within a second.
public struct SaleItem: Sendable, Equatable {
    public let saleID: String
    public let sku: String
    public let name: String
    public let priceCents: Int64
    public let perShopperLimit: Int64

    public init(saleID: String, sku: String, name: String, priceCents: Int64, perShopperLimit: Int64) {
        self.saleID = saleID
        self.sku = sku
        self.name = name
        self.priceCents = priceCents
        self.perShopperLimit = perShopperLimit
    }
}

/// One page of a sale's items in SKU order; the next page holds the SKUs after `nextAfter` (nil: this is the last).
public struct SaleItemPage: Sendable, Equatable {
    public let items: [SaleItem]
    public let nextAfter: String?

    public init(items: [SaleItem], nextAfter: String?) {
        self.items = items
        self.nextAfter = nextAfter
    }
}
