import FlashSale
import Foundation
import Testing

@Suite("Problem bodies")
struct ProblemBodyTests {
    @Test func rendersValidSortedJSONWhateverTheText() throws {
        let detail = "quote \" backslash \\ newline \n tab \t bell \u{7} é 🛒"
        let body = ProblemBody.render(
            status: 409, code: "sold_out", title: "Sold out", detail: detail, extensions: ["sku": "a\"b", "code": "ignored"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any])
        #expect(object["detail"] as? String == detail)
        #expect(object["status"] as? Int == 409)
        #expect(object["code"] as? String == "sold_out")
        #expect(object["sku"] as? String == "a\"b")
        #expect(object["type"] as? String == "https://flashsale.dev/problems/sold-out")
        let text = String(decoding: body, as: UTF8.self)
        #expect(text.hasPrefix(#"{"code":"sold_out","detail":"#))
        // Same input, same bytes: replays depend on it.
        #expect(ProblemBody.render(status: 409, code: "sold_out", title: "Sold out", detail: detail) == ProblemBody.render(status: 409, code: "sold_out", title: "Sold out", detail: detail))
    }
}
