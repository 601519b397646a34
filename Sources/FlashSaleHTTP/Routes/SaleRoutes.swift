import FlashSale
import Foundation
import Hummingbird
import Logging

/// GET a sale and GET one item. `available` is Redis' live count; when Redis cannot answer,
/// PostgreSQL's stock of record is served instead and the `Stock-Source: database` header says so.
struct SaleRoutes {
    let repository: SaleRepository
    let reservations: StockReservations
    let logger: Logger

    func register(on router: Router<AppRequestContext>) {
        router.get("/v1/sales/:sale_id") { _, context in
            let saleID = try context.parameters.require("sale_id")
            let (sale, stored) = try await Deadline.run(RouteDeadlines.read) { [repository] in
                (try await repository.sale(saleID), try await repository.items(ofSale: saleID))
            }
            guard let sale else { throw Problem.notFound("no sale \(saleID)") }
            let (items, source) = try await live(stored)
            return try encoded(SaleDocument(sale: sale, items: items.map(ItemDocument.init)), source: source)
        }
        router.get("/v1/sales/:sale_id/items/:sku") { _, context in
            let saleID = try context.parameters.require("sale_id")
            let sku = try context.parameters.require("sku")
            let stored = try await Deadline.run(RouteDeadlines.read) { [repository] in
                try await repository.item(saleID: saleID, sku: sku)
            }
            guard let item = stored else {
                throw Problem.notFound("sale \(saleID) has no SKU \(sku)")
            }
            let (items, source) = try await live([item])
            return try encoded(ItemDocument(items[0]), source: source)
        }
    }

    /// Items with Redis' counts, or as PostgreSQL has them when Redis is down.
    private func live(_ items: [SaleItem]) async throws -> ([SaleItem], String) {
        guard let saleID = items.first?.saleID else { return (items, "redis") }
        do {
            let counts = try await reservations.available(saleID: saleID, skus: items.map(\.sku))
            let current = zip(items, counts).map { item, count in item.with(available: max(0, count ?? item.available)) }
            return (current, "redis")
        } catch {
            logger.warning("Redis unavailable for stock reads; serving PostgreSQL's", metadata: ["error": "\(error)"])
            return (items, "database")
        }
    }

    private func encoded(_ document: some Encodable, source: String) throws -> Response {
        var response = try JSONResponse.make(document, status: .ok)
        response.headers[.stockSource] = source
        return response
    }
}

struct SaleDocument: Encodable {
    let saleId: String
    let name: String
    let startsAt: Date
    let endsAt: Date
    let paymentWindowSeconds: Int64
    let items: [ItemDocument]

    init(sale: Sale, items: [ItemDocument]) {
        saleId = sale.id
        name = sale.name
        startsAt = sale.startsAt
        endsAt = sale.endsAt
        paymentWindowSeconds = sale.paymentWindowSeconds
        self.items = items
    }
}

struct ItemDocument: Encodable {
    let sku: String
    let name: String
    let priceCents: Int64
    let available: Int64
    let perShopperLimit: Int64

    init(_ item: SaleItem) {
        sku = item.sku
        name = item.name
        priceCents = item.priceCents
        available = item.available
        perShopperLimit = item.perShopperLimit
    }
}
