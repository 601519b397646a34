import FlashSale
import Foundation
import Hummingbird

/// GET a sale (with a page of its items) and GET one item: names, prices and limits from the
/// in-memory catalog, `available` from Redis in one round trip. PostgreSQL is asked only for what
/// the catalog does not hold yet, and for stock when Redis cannot answer (the `Stock-Source:
/// database` header says so). Public, so a client or a CDN may keep the answer a moment (`CacheableRead`).
struct SaleRoutes {
    /// Items in one answer of a sale, by default and at most: a sale of a million SKUs answers with
    /// its first page and a `next_cursor`, a sale of a few with all of them (and `next_cursor: null`).
    static let itemsPerPage = 100
    static let cursorKind = "sku"

    let catalog: SaleCatalog
    let stock: LiveStock

    func register(on router: RouterGroup<AppRequestContext>) {
        router.get("/v1/sales/:sale_id") { request, context in
            let saleID = try context.parameters.require("sale_id")
            let page = try PageQuery(
                request, kind: Self.cursorKind, defaultLimit: Self.itemsPerPage, maximumLimit: Self.itemsPerPage,
                isPosition: SaleCatalog.canExist)
            guard let sale = try await catalog.sale(saleID) else { throw Problem.notFound("no sale \(saleID)") }
            let items = try await catalog.items(of: sale, after: page.after, limit: page.limit)
            let (counts, source) = try await stock.available(saleID: saleID, skus: items.items.map(\.sku))
            let document = SaleDocument(
                sale: sale, items: zip(items.items, counts).map { ItemDocument($0, available: $1) },
                nextCursor: NextCursor(kind: Self.cursorKind, after: items.nextAfter))
            return try CacheableRead.response(document, for: request, stockSource: source)
        }
        router.get("/v1/sales/:sale_id/items/:sku") { request, context in
            let saleID = try context.parameters.require("sale_id")
            let sku = try context.parameters.require("sku")
            guard let item = try await catalog.item(saleID: saleID, sku: sku) else {
                throw Problem.notFound("sale \(saleID) has no SKU \(sku)")
            }
            let (counts, source) = try await stock.available(saleID: saleID, skus: [sku])
            return CacheableRead.response(
                body: ItemDocument.encode(item, available: counts[0]), for: request, stockSource: source)
        }
    }
}

struct SaleDocument: Encodable {
    let saleId: String
    let name: String
    let startsAt: Date
    let endsAt: Date
    let paymentWindowSeconds: Int64
    let items: [ItemDocument]
    /// The `cursor` of the next page of items; null on the last.
    let nextCursor: NextCursor

    init(sale: Sale, items: [ItemDocument], nextCursor: NextCursor) {
        saleId = sale.id
        name = sale.name
        startsAt = sale.startsAt
        endsAt = sale.endsAt
        paymentWindowSeconds = sale.paymentWindowSeconds
        self.items = items
        self.nextCursor = nextCursor
    }
}

struct ItemDocument: Encodable {
    let sku: String
    let name: String
    let priceCents: Int64
    let available: Int64
    let perShopperLimit: Int64

    init(_ item: SaleItem, available: Int64) {
        sku = item.sku
        name = item.name
        priceCents = item.priceCents
        self.available = available
        perShopperLimit = item.perShopperLimit
    }

    /// The same bytes as `APIJSON.encoder` gives for this document (keys sorted), written by hand:
    /// item reads are the flood of a sale (every shopper refreshing), and JSONEncoder was about 8%
    /// of the service's CPU time on them.
    static func encode(_ item: SaleItem, available: Int64) -> [UInt8] {
        var object = JSONObjectBytes(capacity: 96 + item.sku.utf8.count + item.name.utf8.count)
        object.integer("available", available)
        object.text("name", item.name)
        object.integer("per_shopper_limit", item.perShopperLimit)
        object.integer("price_cents", item.priceCents)
        object.text("sku", item.sku)
        return object.finish()
    }
}
