import NIOCore
import NIOFileSystem

/// Where a sale's inventory comes from: a CSV or JSON file streamed in chunks, N generated demo
/// SKUs, or rows already in memory (a load-test scenario's items).
public enum InventorySource: Sendable {
    case csv(path: String)
    case json(path: String)
    case generated(count: Int)
    case rows([InventoryRow])

    /// Picks the format from the file's extension (`.json`, anything else is CSV).
    public static func file(_ path: String) -> InventorySource {
        path.lowercased().hasSuffix(".json") ? .json(path: path) : .csv(path: path)
    }

    /// Rows are handed over in batches as the input is read; `progress` gets (done, total) in the
    /// input's own unit: bytes for files, rows for generated SKUs.
    /// Off the caller's executor (as before SE-0461): the file system runs `body` in a task of its own.
    @concurrent func forEachBatch(
        progress: @Sendable (Int64, Int64) -> Void, _ body: ([InventoryRow]) async throws -> Void
    ) async throws {
        switch self {
        case .generated(let count):
            try await Self.generate(count: count, progress: progress, body)
        case .rows(let rows):
            if !rows.isEmpty { try await body(rows) }
            progress(Int64(rows.count), Int64(rows.count))
        case .csv(let path):
            var reader = CSVRecordReader()
            var header: [String: Int]?
            try await Self.read(path, progress: progress, body) { chunk, rows, finished throws(SeedInputError) in
                let emit: (CSVRecordReader.Record) throws(SeedInputError) -> Void = { record throws(SeedInputError) in
                    guard let columns = header else {
                        header = try Self.header(record)
                        return
                    }
                    rows.append(try Self.row(record, columns: columns))
                }
                try reader.feed(chunk, emit: emit)
                if finished { try reader.finish(emit: emit) }
            }
            if header == nil { throw SeedInputError("the file is empty: it needs the header \(Self.headerText)") }
        case .json(let path):
            var reader = JSONObjectReader()
            try await Self.read(path, progress: progress, body) { chunk, rows, finished throws(SeedInputError) in
                try reader.feed(chunk) { object throws(SeedInputError) in
                    try Self.checkKeys(Array(object.fields.keys), line: object.line)
                    rows.append(try InventoryRow.parse(object.fields, line: object.line))
                }
                if finished { try reader.finish() }
            }
        }
    }

    private static let headerText = InventoryRow.columns.joined(separator: ",")

    @concurrent private static func read(
        _ path: String, progress: @Sendable (Int64, Int64) -> Void, _ body: ([InventoryRow]) async throws -> Void,
        parse: (ByteBufferView, inout [InventoryRow], Bool) throws(SeedInputError) -> Void
    ) async throws {
        do {
            try await FileSystem.shared.withFileHandle(forReadingAt: FilePath(path)) { handle in
                let size = try await handle.info().size
                var done: Int64 = 0
                var rows: [InventoryRow] = []
                for try await chunk in handle.readChunks(chunkLength: .mebibytes(1)) {
                    try parse(chunk.readableBytesView, &rows, false)
                    done += Int64(chunk.readableBytes)
                    if !rows.isEmpty { try await body(rows) }
                    rows.removeAll(keepingCapacity: true)
                    progress(done, size)
                }
                try parse(ByteBuffer().readableBytesView, &rows, true)
                if !rows.isEmpty { try await body(rows) }
            }
        } catch let error as FileSystemError where error.code == .notFound {
            throw SeedInputError("no such file: \(path)")
        } catch let error as FileSystemError {
            throw SeedInputError("cannot read \(path): \(error.message)")
        }
    }

    private static func header(_ record: CSVRecordReader.Record) throws(SeedInputError) -> [String: Int] {
        let names = record.fields.map { $0.trimmingSpaces.lowercased() }
        try checkKeys(names, line: record.line)
        var positions: [String: Int] = [:]
        for (index, name) in names.enumerated() {
            guard positions[name] == nil else {
                throw SeedInputError(line: record.line, "column '\(name)' appears twice in the header")
            }
            positions[name] = index
        }
        return positions
    }

    private static func checkKeys(_ names: [String], line: Int) throws(SeedInputError) {
        if let unknown = names.first(where: { !InventoryRow.columns.contains($0) }) {
            let hint = unknown.contains(";") || unknown.contains("\t") ? " (separate fields with commas)" : ""
            throw SeedInputError(line: line, "unknown column '\(unknown)'; the columns are \(headerText)\(hint)")
        }
        if let missing = InventoryRow.columns.first(where: { !names.contains($0) }) {
            throw SeedInputError(line: line, "column '\(missing)' is missing; the columns are \(headerText)")
        }
    }

    private static func row(_ record: CSVRecordReader.Record, columns: [String: Int]) throws(SeedInputError)
        -> InventoryRow
    {
        guard record.fields.count == columns.count else {
            throw SeedInputError(
                line: record.line, "\(record.fields.count) fields where the header has \(columns.count)")
        }
        var fields: [String: String] = [:]
        for (name, index) in columns { fields[name] = record.fields[index] }
        return try InventoryRow.parse(fields, line: record.line)
    }

    /// Demo SKUs `sku-1` … `sku-N` (zero-padded to N's width), the same every time for the same N,
    /// so seeding them twice changes nothing.
    private static func generate(
        count: Int, progress: @Sendable (Int64, Int64) -> Void, _ body: ([InventoryRow]) async throws -> Void
    ) async throws {
        let width = String(count).count
        var rows: [InventoryRow] = []
        rows.reserveCapacity(10_000)
        for number in 1...max(count, 1) where count > 0 {
            let digits = String(number)
            let sku = "sku-" + String(repeating: "0", count: width - digits.count) + digits
            rows.append(
                InventoryRow(
                    line: number, sku: sku, name: "Demo item \(number)", priceCents: 500 + Int64(number * 731 % 9_500),
                    stock: 100, perShopperLimit: 2))
            if rows.count == 10_000 {
                try await body(rows)
                rows.removeAll(keepingCapacity: true)
                progress(Int64(number), Int64(count))
            }
        }
        if !rows.isEmpty { try await body(rows) }
        progress(Int64(count), Int64(count))
    }
}

extension String {
    fileprivate var trimmingSpaces: String {
        String(drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
    }
}
