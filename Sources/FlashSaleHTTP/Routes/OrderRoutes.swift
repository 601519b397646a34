import FlashSale
import Foundation
import Hummingbird
import Logging

/// POST an order (the purchase attempt) and GET one's own order.
struct OrderRoutes {
    let workflow: PurchaseWorkflow
    let orders: OrderRepository
    let payments: PaymentWorkflow
    let cancellation: OrderCancellation

    struct OrderRequest: Decodable {
        let sku: String
        let quantity: Int64
    }

    struct PaymentRequest: Decodable {
        let paymentMethod: String

        enum CodingKeys: String, CodingKey {
            case paymentMethod = "payment_method"
        }
    }

    /// The purchase attempt, one's own order, and paying or cancelling it: three groups, so each
    /// is held to its own rate limits.
    func register(
        purchases: RouterGroup<AppRequestContext>, account: RouterGroup<AppRequestContext>,
        payments router: RouterGroup<AppRequestContext>
    ) {
        purchases.post("/v1/sales/:sale_id/orders") { request, context in
            let shopperID = try context.requireShopper()
            let saleID = try context.parameters.require("sale_id")
            guard let token = request.headers[.idempotencyKey], !token.isEmpty else {
                throw Problem.invalidRequest("the Idempotency-Key header must carry a checkout token")
            }
            let body = try await RequestBody.decode(
                OrderRequest.self, from: request, context: context, fastPath: OrderRequest.init(commonShape:),
                wholeNumbers: ["quantity"])
            let outcome = await workflow.purchase(
                saleID: saleID, sku: body.sku, quantity: body.quantity, token: token, shopperID: shopperID,
                email: context.shopperEmail)
            return PurchaseResponse.make(outcome)
        }
        account.get("/v1/orders/:order_id") { _, context in
            let shopperID = try context.requireShopper()
            let order = try await ownOrder(context: context, shopperID: shopperID)
            return JSONResponse.raw(OrderDocument.encode(order), status: .ok)
        }
        router.post("/v1/orders/:order_id/pay") { request, context in
            let shopperID = try context.requireShopper()
            let orderID = try context.parameters.require("order_id")
            guard let key = request.headers[.idempotencyKey], (1...255).contains(key.utf8.count) else {
                throw Problem.invalidRequest("the Idempotency-Key header must carry 1 to 255 characters")
            }
            let body = try await RequestBody.decode(PaymentRequest.self, from: request, context: context)
            // Past the deadline the answer is 503 and the outcome unknown; a retry with the same key tells.
            // The gateway's own waits are bounded inside; this bounds the waits on PostgreSQL beside them.
            return Self.response(
                try await Deadline.run(RouteDeadlines.write + payments.settings.longestGatewayWait) { [payments] in
                    try await payments.pay(
                        orderID: orderID, shopperID: shopperID, idempotencyKey: key, paymentMethod: body.paymentMethod)
                })
        }
        router.post("/v1/orders/:order_id/cancel") { _, context in
            let shopperID = try context.requireShopper()
            let orderID = try context.parameters.require("order_id")
            return Self.response(
                try await Deadline.run(RouteDeadlines.write) { [cancellation] in
                    try await cancellation.cancel(orderID: orderID, shopperID: shopperID)
                })
        }
    }

    static func response(_ answer: OrderAnswer) -> Response {
        var response = JSONResponse.raw(
            answer.body, status: HTTPResponse.Status(code: answer.status), replayed: answer.replayed)
        if answer.isProblem { response.headers[.contentType] = "application/problem+json" }
        return response
    }

    /// The caller's order; anyone else's is answered exactly like a missing one.
    func ownOrder(context: AppRequestContext, shopperID: String) async throws -> Order {
        let text = try context.parameters.require("order_id")
        guard let id = UUID(uuidString: text) else { throw Problem.notFound("no order \(text)") }
        let found = try await Deadline.run(RouteDeadlines.read) { [orders] in try await orders.order(id) }
        guard let order = found, order.shopperID == shopperID else {
            throw Problem.notFound("no order \(text)")
        }
        return order
    }
}

/// Purchase outcomes as HTTP answers; replays carry `Idempotent-Replayed: true`.
enum PurchaseResponse {
    /// One per SKU that sold out (the detail names it).
    static let soldOut = RenderedAnswers<String>(capacity: 10_000)

    static func make(_ outcome: PurchaseOutcome) -> Response {
        switch outcome {
        case .created(let body): return JSONResponse.raw(body, status: .created)
        case .replayCreated(let body): return JSONResponse.raw(body, status: .created, replayed: true)
        case .rejected(.soldOut, let detail):
            return soldOut.response(detail) { problem(.soldOut, detail: detail).response() }
        case .rejected(let rejection, let detail): return problem(rejection, detail: detail).response()
        case .replayRejected(let rejection, let detail):
            var replayed = problem(rejection, detail: detail)
            replayed.headers[.idempotentReplayed] = "true"
            return replayed.response()
        case .unavailable(let unavailable): return Problem.unavailable(unavailable).response()
        }
    }

    static func problem(_ rejection: PurchaseRejection, detail: String) -> Problem {
        let (status, title): (HTTPResponse.Status, String) =
            switch rejection {
            case .invalidRequest: (.badRequest, "Invalid request")
            case .notFound: (.notFound, "Not found")
            case .saleNotActive: (.forbidden, "Sale not active")
            case .soldOut: (.conflict, "Sold out")
            case .purchaseLimit: (.conflict, "Purchase limit reached")
            case .requestInProgress: (.conflict, "Request in progress")
            case .invalidToken: (.unprocessableContent, "Invalid checkout token")
            case .idempotencyKeyReused: (.unprocessableContent, "Idempotency key reused")
            case .unavailable: (.serviceUnavailable, "Service unavailable")
            }
        return Problem(status: status, code: rejection.rawValue, title: title, detail: detail)
    }
}

extension OrderRoutes.OrderRequest {
    /// `{"sku":"…","quantity":N}`, in either order, as every purchase attempt sends it, read without
    /// JSONDecoder (its set-up and key conversion were about 6% of the service's CPU time on a sold-out
    /// answer). Any other body (escapes, non-ASCII, other or repeated members, fractions, exponents,
    /// long numbers) answers nil and goes to JSONDecoder, so the answers and their errors are unchanged.
    init?(commonShape bytes: UnsafeRawBufferPointer) {
        var scanner = PlainJSONScanner(bytes)
        var sku: String?
        var quantity: Int64?
        guard scanner.take(UInt8(ascii: "{")) else { return nil }
        for member in 0..<2 {
            if member > 0, !scanner.take(UInt8(ascii: ",")) { return nil }
            guard let key = scanner.string(), scanner.take(UInt8(ascii: ":")) else { return nil }
            switch key {
            case "sku" where sku == nil: sku = scanner.string()
            case "quantity" where quantity == nil: quantity = scanner.integer()
            default: return nil
            }
        }
        guard let sku, let quantity, scanner.take(UInt8(ascii: "}")) else { return nil }
        scanner.skipWhitespace()
        guard scanner.atEnd else { return nil }
        self.init(sku: sku, quantity: quantity)
    }
}
