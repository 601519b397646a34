import FlashSale
import Foundation
import Testing

@testable import FlashSaleHTTP

@Suite("The item document, written by hand")
struct ItemDocumentTests {
    /// Sale answers embed items through JSONEncoder; an item read alone must give the same bytes.
    @Test(arguments: [
        ("sku-1", "Demo item 1", Int64(4_155), Int64(2), Int64(100)),
        ("a/b", "name \"quoted\" \\ back/slash\ttab\u{1}\n é🙂", 0, 1, 0),
        ("X.y_z-9", "", Int64.max, Int64.max, Int64.min),
    ])
    func sameBytesAsJSONEncoder(sku: String, name: String, price: Int64, limit: Int64, available: Int64) throws {
        let item = SaleItem(saleID: "s", sku: sku, name: name, priceCents: price, perShopperLimit: limit)
        let expected = Array(try APIJSON.encoder.encode(ItemDocument(item, available: available)))
        let written = ItemDocument.encode(item, available: available)
        #expect(String(decoding: written, as: UTF8.self) == String(decoding: expected, as: UTF8.self))
    }
}
