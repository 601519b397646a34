import Hummingbird
import Testing

@testable import FlashSaleHTTP

@Suite struct RenderedAnswersTests {
    func answer(_ status: HTTPResponse.Status) -> Response { Response(status: status) }

    @Test func aKeyIsRenderedOnceAndAnsweredFromMemoryAfter() {
        let answers = RenderedAnswers<String>(capacity: 4)
        var renders = 0
        for _ in 0..<3 {
            let response = answers.response("gone") {
                renders += 1
                return answer(.conflict)
            }
            #expect(response.status == .conflict)
        }
        #expect(renders == 1)
        #expect(answers.response("other") { answer(.tooManyRequests) }.status == .tooManyRequests)
    }

    @Test func whenFullEveryAnswerIsDroppedAndRenderedAgain() {
        let answers = RenderedAnswers<Int>(capacity: 2)
        var renders = 0
        func ask(_ key: Int) {
            _ = answers.response(key) {
                renders += 1
                return answer(.conflict)
            }
        }
        ask(1)
        ask(2)
        ask(3)  // full: 1 and 2 go
        #expect(renders == 3)
        ask(3)
        #expect(renders == 3)
        ask(1)
        #expect(renders == 4)
    }
}
