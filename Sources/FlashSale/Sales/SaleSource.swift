/// Where the catalog loads sales and items from: PostgreSQL (`SaleRepository`) in the service; tests
/// wrap it to count the loads.
public protocol SaleSource: Sendable {
    /// The sale, or nil when there is none.
    func sale(_ id: String) async throws -> Sale?
    /// The item, or nil when the sale has no such SKU (or there is no such sale).
    func item(saleID: String, sku: String) async throws -> SaleItem?
    /// Up to `limit` items of the sale whose SKU sorts after `after` (from the first when nil).
    func items(ofSale saleID: String, after: String?, limit: Int) async throws -> SaleItemPage
}
