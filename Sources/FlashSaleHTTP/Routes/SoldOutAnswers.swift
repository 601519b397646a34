import FlashSale
import Hummingbird
import Synchronization

/// The 409 sold_out answers, rendered once per SKU: on sale day most attempts get one, and with
/// the sold-out short circuit rendering it was a good part of what such an attempt cost.
final class SoldOutAnswers: Sendable {
    static let shared = SoldOutAnswers()

    private let bodies = Mutex<[String: ByteBuffer]>([:])
    /// Distinct details kept at most (one per SKU that sold out); past it, answers are rendered each time.
    let capacity = 10_000

    func response(detail: String) -> Response {
        if let body = bodies.withLock({ $0[detail] }) { return Self.response(body) }
        let problem = PurchaseResponse.problem(.soldOut, detail: detail)
        let bytes = ByteBuffer(
            bytes: ProblemBody.render(status: Int(problem.status.code), code: problem.code, title: problem.title, detail: detail))
        bodies.withLock { bodies in
            if bodies.count < capacity { bodies[detail] = bytes }
        }
        return Self.response(bytes)
    }

    private static func response(_ body: ByteBuffer) -> Response {
        Response(status: .conflict, headers: [.contentType: "application/problem+json"], body: .init(byteBuffer: body))
    }
}
