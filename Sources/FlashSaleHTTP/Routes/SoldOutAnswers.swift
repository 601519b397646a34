import FlashSale
import Hummingbird
import Synchronization

/// The 409 sold_out answers, rendered once per SKU: on sale day most attempts get one, and with
/// the sold-out short circuit rendering it was a good part of what such an attempt cost.
final class SoldOutAnswers: Sendable {
    static let shared = SoldOutAnswers()

    private let answers = Mutex<[String: Response]>([:])
    /// Distinct details kept at most (one per SKU that sold out); past it, answers are rendered each time.
    let capacity = 10_000

    func response(detail: String) -> Response {
        if let answer = answers.withLock({ $0[detail] }) { return answer }
        let answer = PurchaseResponse.problem(.soldOut, detail: detail).response()
        answers.withLock { answers in
            if answers.count < capacity { answers[detail] = answer }
        }
        return answer
    }
}
