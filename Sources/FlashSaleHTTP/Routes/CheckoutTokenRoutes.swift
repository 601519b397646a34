import FlashSale
import Foundation
import Hummingbird
import Logging
import RedisClient

/// POST …/checkout-tokens: a shopper asks for the single-use key of one order attempt.
struct CheckoutTokenRoutes {
    let catalog: SaleCatalog
    let tokens: CheckoutTokens
    /// Redis' circuit breaker, when there is one.
    let breaker: DependencyBreaker?
    let logger: Logger

    func register(on router: RouterGroup<AppRequestContext>) {
        router.post("/v1/sales/:sale_id/checkout-tokens") { _, context in
            let shopperID = try context.requireShopper()
            let saleID = try context.parameters.require("sale_id")
            guard let sale = try await catalog.sale(saleID) else { throw Problem.notFound("no sale \(saleID)") }
            guard sale.isActive(at: Date()) else { throw Problem.saleNotActive(saleID) }
            let token: String
            do {
                token = try await DependencyBreaker.run(breaker, isFailure: RedisError.isOutage) {
                    try await tokens.issue(saleID: saleID, shopperID: shopperID)
                }
            } catch let unavailable as DependencyUnavailable {
                throw Problem.unavailable(unavailable)
            } catch {
                logger.error("issuing a checkout token failed", metadata: ["error": "\(error)"])
                throw Problem.unavailable("checkout tokens cannot be issued right now; try again")
            }
            return try JSONResponse.make(
                CheckoutTokenDocument(token: token, expiresIn: CheckoutTokens.lifetimeSeconds), status: .created)
        }
    }
}

struct CheckoutTokenDocument: Encodable {
    let token: String
    let expiresIn: Int64
}
