import Foundation

/// One SKU of a sale as an operator writes it in the seed file.
public struct InventoryRow: Sendable, Equatable {
    /// The line of the input the row starts on (1-based; the CSV header is line 1).
    public var line: Int
    public var sku: String
    public var name: String
    public var priceCents: Int64
    public var stock: Int32
    public var perShopperLimit: Int32

    public init(line: Int, sku: String, name: String, priceCents: Int64, stock: Int32, perShopperLimit: Int32) {
        self.line = line
        self.sku = sku
        self.name = name
        self.priceCents = priceCents
        self.stock = stock
        self.perShopperLimit = perShopperLimit
    }

    /// The columns every input carries, CSV header and JSON keys alike.
    public static let columns = ["sku", "name", "price_cents", "stock", "per_shopper_limit"]

    /// Validates one record's raw fields, keyed by column name. Errors name the line and the column.
    public static func parse(_ fields: [String: String], line: Int) throws(SeedInputError) -> InventoryRow {
        // Hand-written files often have a space after each comma.
        func field(_ column: String) -> String { (fields[column] ?? "").trimmingCharacters(in: .whitespaces) }
        let sku = field("sku")
        guard SaleDefinition.isValidIdentifier(sku) else {
            throw SeedInputError(
                line: line, "sku '\(sku)' must be 1 to 64 letters, digits, '.', '_' or '-'")
        }
        let name = field("name")
        guard !name.isEmpty, name.utf8.count <= 500 else {
            throw SeedInputError(line: line, "name of \(sku) must be 1 to 500 bytes")
        }
        guard let price = Int64(field("price_cents")), price >= 0, price <= 100_000_000_00 else {
            throw SeedInputError(
                line: line,
                "price_cents of \(sku) must be a whole number of cents from 0 to 10000000000, got '\(field("price_cents"))'")
        }
        guard let stock = Int32(field("stock")), stock >= 0 else {
            throw SeedInputError(
                line: line, "stock of \(sku) must be a whole number from 0 to \(Int32.max), got '\(field("stock"))'")
        }
        guard let limit = Int32(field("per_shopper_limit")), limit > 0 else {
            throw SeedInputError(
                line: line,
                "per_shopper_limit of \(sku) must be a whole number from 1 to \(Int32.max), got '\(field("per_shopper_limit"))'")
        }
        return InventoryRow(line: line, sku: sku, name: name, priceCents: price, stock: stock, perShopperLimit: limit)
    }
}
