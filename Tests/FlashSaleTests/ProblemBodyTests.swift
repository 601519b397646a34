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
        #expect(
            ProblemBody.render(status: 409, code: "sold_out", title: "Sold out", detail: detail)
                == ProblemBody.render(status: 409, code: "sold_out", title: "Sold out", detail: detail))
    }

    /// Stored answers are replayed byte for byte, so the rendering must never drift: these are the
    /// bytes the String-built renderer produced before it was rewritten to write bytes directly.
    @Test func rendersTheSameBytesAsEver() {
        let body = ProblemBody.render(
            status: 409, code: "sold_out", title: "Sold out", detail: "q\" b\\ n\n t\t c\u{1} é",
            extensions: ["sku": "a_b", "code": "ignored", "Zeta": "z"])
        #expect(
            String(decoding: body, as: UTF8.self)
                == #"{"Zeta":"z","code":"sold_out","detail":"q\" b\\ n\n t\t c\u0001 é","sku":"a_b","status":409,"title":"Sold out","type":"https://flashsale.dev/problems/sold-out"}"#
        )
        #expect(
            String(
                decoding: ProblemBody.render(status: 409, code: "sold_out", title: "Sold out", detail: "gone is sold out"),
                as: UTF8.self)
                == #"{"code":"sold_out","detail":"gone is sold out","status":409,"title":"Sold out","type":"https://flashsale.dev/problems/sold-out"}"#
        )
    }
}
