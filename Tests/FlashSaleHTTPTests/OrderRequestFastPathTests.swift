import FlashSale
import Foundation
import Testing

@testable import FlashSaleHTTP

@Suite("Purchase bodies read without JSONDecoder")
struct OrderRequestFastPathTests {
    typealias OrderRequest = OrderRoutes.OrderRequest

    static func fast(_ body: String) -> OrderRequest? {
        Array(body.utf8).withUnsafeBytes { OrderRequest(commonShape: $0) }
    }

    static func decoded(_ body: String) -> OrderRequest? {
        try? APIJSON.decoder.decode(OrderRequest.self, from: Data(body.utf8))
    }

    @Test(arguments: [
        #"{"sku":"hot-sku","quantity":1}"#,
        #"{"quantity":2,"sku":"hot-sku"}"#,
        " {\n\t\"sku\" : \"a b/c\" ,\r\n \"quantity\" : 0 } \n",
        #"{"sku":"","quantity":-3}"#,
        #"{"sku":"x","quantity":999999999999999999}"#,
    ])
    func readsTheCommonShapeAsJSONDecoderDoes(body: String) throws {
        let fast = try #require(Self.fast(body))
        let decoded = try #require(Self.decoded(body))
        #expect(fast.sku == decoded.sku)
        #expect(fast.quantity == decoded.quantity)
    }

    /// Everything else is left to JSONDecoder, which answers it (or its error) as before.
    @Test(arguments: [
        "", "{not json", #"{"sku":"hot-sku"}"#, #"{"sku":"hot-sku","quantity":"one"}"#,
        #"{"sku":"hot-sku","quantity":1e40}"#, #"{"sku":"hot-sku","quantity":1.0}"#, #"{"sku":"hot-sku","quantity":01}"#,
        #"{"sku":"hot-sku","quantity":1000000000000000000}"#, #"{"sku":"a","quantity":-99999999999999999999999999}"#,
        #"{"sku":"hot\u002dsku","quantity":1}"#,
        #"{"sku":"héllo","quantity":1}"#, #"{"sku":"a","quantity":1,"note":"x"}"#, #"{"sku":"a","sku":"b","quantity":1}"#,
        #"{"sku":"a","quantity":1}x"#, #"[{"sku":"a","quantity":1}]"#, #"{"sku":"a","quantity":-}"#,
    ])
    func leavesEverythingElseToJSONDecoder(body: String) {
        #expect(Self.fast(body) == nil)
    }
}
