import Testing

@testable import FlashSaleHTTP

@Suite("Whole numbers as written")
struct NumberLiteralTests {
    static func whole(_ json: String, _ field: String = "quantity") -> Bool {
        Array(json.utf8).withUnsafeBytes { NumberLiteral.isWhole(field: field, in: $0) }
    }

    @Test func fractionsAndExponentsOfTheFieldAreNotWhole() {
        #expect(Self.whole(#"{"sku":"a","quantity":1}"#))
        #expect(Self.whole(#"{ "quantity" : -12 , "sku":"a"}"#))
        #expect(!Self.whole(#"{"sku":"a","quantity":1.0}"#))
        #expect(!Self.whole(#"{"quantity" :2E0}"#))
        #expect(!Self.whole(#"{"quantity":1e+2}"#))
    }

    @Test func otherFieldsStringsAndNestedKeysAreNotTheField() {
        #expect(Self.whole(#"{"note":1.5,"quantity":1}"#))
        #expect(Self.whole(#"{"note":"\"quantity\":1.5","quantity":1}"#))
        #expect(Self.whole(#"{"inner":{"quantity":1.5},"quantity":3}"#))
        #expect(Self.whole(#"{"quantity":"1.5"}"#))
        #expect(Self.whole(#"{"sku":"a"}"#))
        #expect(!Self.whole(#"{"inner":{"quantity":1},"quantity":3.5}"#))
    }
}
