/// What a seed changed. A second run with the same input reports nothing changed.
public struct SeedReport: Sendable, Equatable {
    public enum SaleChange: String, Sendable {
        case created, updated, unchanged
    }

    public var sale: SaleChange
    public var rows: Int
    public var skusAdded: Int
    /// SKUs whose name, price, limit or stock changed.
    public var skusChanged: Int
    public var skusRemoved: Int
    /// SKUs whose stock changed on a sale that had started (only with --force).
    public var liveStockChanges: Int
    public var totalUnits: Int64

    public var changedNothing: Bool {
        sale == .unchanged && skusAdded == 0 && skusChanged == 0 && skusRemoved == 0
    }
}
