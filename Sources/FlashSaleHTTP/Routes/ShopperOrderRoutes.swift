import FlashSale
import Foundation
import Hummingbird

/// GET one's own orders in a sale, newest first, a page at a time: how a shopper who lost the 201
/// of a purchase (a dropped connection, a closed tab) finds the order again.
struct ShopperOrderRoutes {
    static let defaultLimit = 20
    static let maximumLimit = 100
    static let cursorKind = "order"

    let catalog: SaleCatalog
    let orders: OrderRepository

    func register(on router: RouterGroup<AppRequestContext>) {
        router.get("/v1/sales/:sale_id/orders") { request, context in
            let shopperID = try context.requireShopper()
            let saleID = try context.parameters.require("sale_id")
            let page = try PageQuery(
                request, kind: Self.cursorKind, defaultLimit: Self.defaultLimit, maximumLimit: Self.maximumLimit,
                isPosition: { UUID(uuidString: $0) != nil })
            guard try await catalog.sale(saleID) != nil else { throw Problem.notFound("no sale \(saleID)") }
            let found = try await Deadline.run(RouteDeadlines.read) { [orders] in
                try await orders.orders(
                    saleID: saleID, shopperID: shopperID, after: page.after.flatMap(UUID.init(uuidString:)),
                    limit: page.limit)
            }
            var response = try JSONResponse.make(
                ShopperOrdersDocument(
                    orders: found.orders.map(OrderDocument.init),
                    nextCursor: NextCursor(kind: Self.cursorKind, after: found.nextAfter?.uuidString.lowercased())),
                status: .ok)
            // One shopper's orders: no shared cache may keep them, and no client should reuse them unasked.
            response.headers[.cacheControl] = "private, no-store"
            return response
        }
    }
}

struct ShopperOrdersDocument: Encodable {
    let orders: [OrderDocument]
    let nextCursor: NextCursor
}
