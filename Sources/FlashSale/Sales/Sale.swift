import Foundation

/// A sale: a window of time in which its items can be bought.
public struct Sale: Sendable, Equatable {
    public let id: String
    public let name: String
    public let startsAt: Date
    public let endsAt: Date
    /// How long a reserved order may wait for payment before it expires.
    public let paymentWindowSeconds: Int64

    public init(id: String, name: String, startsAt: Date, endsAt: Date, paymentWindowSeconds: Int64) {
        self.id = id
        self.name = name
        self.startsAt = startsAt
        self.endsAt = endsAt
        self.paymentWindowSeconds = paymentWindowSeconds
    }

    public func isActive(at instant: Date) -> Bool {
        startsAt <= instant && instant < endsAt
    }
}

/// One SKU of a sale. `available` is PostgreSQL's stock of record unless said otherwise.
public struct SaleItem: Sendable, Equatable {
    public let saleID: String
    public let sku: String
    public let name: String
    public let priceCents: Int64
    public let initialStock: Int64
    public let available: Int64
    public let perShopperLimit: Int64

    public init(
        saleID: String, sku: String, name: String, priceCents: Int64, initialStock: Int64, available: Int64,
        perShopperLimit: Int64
    ) {
        self.saleID = saleID
        self.sku = sku
        self.name = name
        self.priceCents = priceCents
        self.initialStock = initialStock
        self.available = available
        self.perShopperLimit = perShopperLimit
    }

    public func with(available: Int64) -> SaleItem {
        SaleItem(
            saleID: saleID, sku: sku, name: name, priceCents: priceCents, initialStock: initialStock,
            available: available, perShopperLimit: perShopperLimit)
    }
}
