/// The answer to a request on an existing order (pay, cancel): a status and a body to send as they are.
public struct OrderAnswer: Sendable, Equatable {
    public let status: Int
    public let body: [UInt8]
    /// The body is problem+json rather than an order.
    public let isProblem: Bool
    /// A stored answer to an earlier request with the same idempotency key.
    public let replayed: Bool

    public init(status: Int, body: [UInt8], isProblem: Bool, replayed: Bool = false) {
        self.status = status
        self.body = body
        self.isProblem = isProblem
        self.replayed = replayed
    }

    static func order(_ order: Order) -> OrderAnswer {
        OrderAnswer(status: 200, body: OrderDocument.encode(order), isProblem: false)
    }

    static func problem(_ status: Int, _ code: String, _ title: String, _ detail: String) -> OrderAnswer {
        OrderAnswer(
            status: status, body: ProblemBody.render(status: status, code: code, title: title, detail: detail),
            isProblem: true)
    }

    static let expired = problem(409, "order_expired", "Order expired", "the payment window of this order has closed")

    static func notFound(_ id: String) -> OrderAnswer { problem(404, "not_found", "Not found", "no order \(id)") }
}
