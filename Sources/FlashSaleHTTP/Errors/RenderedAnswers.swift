import Hummingbird
import Synchronization

/// Answers rendered once and handed out again: the 409 sold_out of each SKU, and the 429 of each
/// refusal the in-process limiter repeats. On sale day most requests get one of these, and
/// rendering the problem body and its fields was a good part of what such a request cost.
final class RenderedAnswers<Key: Hashable & Sendable>: Sendable {
    private let answers = Mutex<[Key: Response]>([:])
    /// Answers kept at most; when full they are all dropped and rendered again as asked, so keys
    /// that stop being asked for (a refusal's retry second that has passed) do not pile up.
    let capacity: Int

    init(capacity: Int) {
        self.capacity = capacity
    }

    func response(_ key: Key, render: () -> Response) -> Response {
        if let answer = answers.withLock({ $0[key] }) { return answer }
        let answer = render()
        answers.withLock { answers in
            if answers.count >= capacity { answers.removeAll(keepingCapacity: true) }
            answers[key] = answer
        }
        return answer
    }
}
