import Testing

@testable import FlashSale

@Suite("Seed input readers: the same records whatever the chunk boundaries")
struct InventoryReaderTests {
    static let csv = "\u{FEFF}sku,name\r\na,\"Tee, \"\"black\"\"\"\r\nb,\"two\nlines\"\n\nc,plain"

    static func csvRecords(_ text: String, chunk: Int) throws -> [(Int, [String])] {
        var reader = CSVRecordReader()
        var records: [(Int, [String])] = []
        let bytes = Array(text.utf8)
        for start in stride(from: 0, to: bytes.count, by: chunk) {
            try reader.feed(bytes[start..<min(start + chunk, bytes.count)]) { records.append(($0.line, $0.fields)) }
        }
        try reader.finish { records.append(($0.line, $0.fields)) }
        return records
    }

    @Test(arguments: [1, 2, 3, 7, 1_000])
    func csvRecordsDoNotDependOnChunking(_ chunk: Int) throws {
        let records = try Self.csvRecords(Self.csv, chunk: chunk)
        #expect(records.map(\.0) == [1, 2, 3, 6])
        #expect(records.map(\.1) == [["sku", "name"], ["a", "Tee, \"black\""], ["b", "two\nlines"], ["c", "plain"]])
    }

    @Test func csvErrorsNameTheLine() {
        #expect(throws: SeedInputError(line: 2, "a quote inside an unquoted field; quote the whole field")) {
            _ = try Self.csvRecords("a,b\nx,y\"z\n", chunk: 4)
        }
        #expect(throws: SeedInputError(line: 2, "a quoted field is never closed")) {
            _ = try Self.csvRecords("a,b\n\"x,y\nz\n", chunk: 4)
        }
    }

    @Test(arguments: [1, 5, 1_000])
    func jsonObjectsDoNotDependOnChunking(_ chunk: Int) throws {
        let text = """
            [ {"sku": "a", "name": "brace } and \\" quote", "stock": 3},
              {"sku": "b",
               "name": "B", "price_cents": 12.5} ]
            """
        var reader = JSONObjectReader()
        var objects: [(Int, [String: String])] = []
        let bytes = Array(text.utf8)
        for start in stride(from: 0, to: bytes.count, by: chunk) {
            try reader.feed(bytes[start..<min(start + chunk, bytes.count)]) { objects.append(($0.line, $0.fields)) }
        }
        try reader.finish()
        #expect(objects.map(\.0) == [1, 2])
        #expect(objects.first?.1 == ["sku": "a", "name": "brace } and \" quote", "stock": "3"])
        #expect(objects.last?.1["price_cents"] == "12.5")
    }
}
