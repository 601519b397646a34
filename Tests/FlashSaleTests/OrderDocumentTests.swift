import FlashSale
import Foundation
import Testing

@Suite("The order document, written by hand")
struct OrderDocumentTests {
    static func order(saleID: String = "spring-sale", sku: String = "sku-1", payBy: Date, createdAt: Date) -> Order {
        Order(
            id: UUID(), saleID: saleID, sku: sku, shopperID: "alice", quantity: 2, amountCents: 1_998,
            status: .reserved, payBy: payBy, createdAt: createdAt, version: 0)
    }

    /// Replays and earlier answers were made by JSONEncoder; the hand-written bytes must not differ.
    @Test(arguments: [
        0, 0.4, 0.999_999, -0.5, -86_400.25, 951_782_400, 951_868_799.9, 1_700_000_000.999_999,
        1_795_000_000.123, 4_102_444_800, 13_569_465_600, 253_402_300_799, -2_208_988_800,
    ])
    func sameBytesAsJSONEncoder(seconds: Double) throws {
        let order = Self.order(
            payBy: Date(timeIntervalSince1970: seconds), createdAt: Date(timeIntervalSince1970: seconds - 600.5))
        let expected = Array(try APIJSON.encoder.encode(OrderDocument(order)))
        #expect(String(decoding: OrderDocument.encode(order), as: UTF8.self) == String(decoding: expected, as: UTF8.self))
    }

    @Test func sameBytesForEveryDayOfFourCenturiesAndEveryStatus() throws {
        let statuses: [OrderStatus] = [.reserved, .paid, .cancelled, .expired]
        var mismatches = 0
        // One time a day (at a different second each day) from 1900 to 2300, leap years included.
        for day in stride(from: -25_567, to: 120_000, by: 1) {
            let seconds = Double(day) * 86_400 + Double((day * 7_919) % 86_400) + 0.75
            let base = Self.order(
                payBy: Date(timeIntervalSince1970: seconds), createdAt: Date(timeIntervalSince1970: seconds / 2))
            let order = Order(
                id: base.id, saleID: base.saleID, sku: base.sku, shopperID: base.shopperID, quantity: base.quantity,
                amountCents: base.amountCents, status: statuses[abs(day) % 4], payBy: base.payBy,
                createdAt: base.createdAt, version: 0)
            if OrderDocument.encode(order) != Array(try APIJSON.encoder.encode(OrderDocument(order))) { mismatches += 1 }
        }
        #expect(mismatches == 0)
    }

    @Test func textIsEscapedAsJSONEncoderEscapesIt() throws {
        let order = Self.order(
            saleID: "sale \"quoted\" \\ back/slash\ttab\u{1}é🙂", sku: "a/b", payBy: Date(), createdAt: Date())
        let expected = Array(try APIJSON.encoder.encode(OrderDocument(order)))
        #expect(String(decoding: OrderDocument.encode(order), as: UTF8.self) == String(decoding: expected, as: UTF8.self))
        let parsed = try JSONSerialization.jsonObject(with: Data(OrderDocument.encode(order))) as? [String: Any]
        #expect(parsed?["sale_id"] as? String == order.saleID)
    }
}
