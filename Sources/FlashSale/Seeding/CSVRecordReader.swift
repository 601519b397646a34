/// An RFC 4180 CSV parser fed in chunks, so a file of any size streams through a small buffer.
/// Quoted fields may hold commas, quotes ("") and line breaks; lines end in LF or CRLF.
struct CSVRecordReader {
    struct Record {
        /// The line the record starts on (1-based).
        var line: Int
        var fields: [String]
    }

    private enum State {
        case fieldStart, unquoted, quoted, quoteInQuoted
    }

    private var state = State.fieldStart
    private var field: [UInt8] = []
    private var fields: [String] = []
    private var line = 1
    private var recordLine = 1
    /// How much of a leading UTF-8 byte-order mark has been skipped; 3 once past the start.
    private var byteOrderMark = 0
    private static let byteOrderMarkBytes: [UInt8] = [0xEF, 0xBB, 0xBF]

    /// Parses `bytes`, handing each complete record to `emit`. Blank lines are skipped.
    mutating func feed(_ bytes: some Collection<UInt8>, emit: (Record) throws(SeedInputError) -> Void)
        throws(SeedInputError)
    {
        for byte in bytes {
            if byteOrderMark < 3 {
                // Spreadsheets often start CSV files with a BOM; it may straddle chunks.
                if byte == Self.byteOrderMarkBytes[byteOrderMark] {
                    byteOrderMark += 1
                    continue
                }
                byteOrderMark = 3
            }
            switch state {
            case .fieldStart:
                switch byte {
                case UInt8(ascii: "\""): state = .quoted
                case UInt8(ascii: ","): endField()
                case UInt8(ascii: "\n"): try endRecord(emit)
                case UInt8(ascii: "\r"): break
                default:
                    field.append(byte)
                    state = .unquoted
                }
            case .unquoted:
                switch byte {
                case UInt8(ascii: ","): endField()
                case UInt8(ascii: "\n"): try endRecord(emit)
                case UInt8(ascii: "\r"): break
                case UInt8(ascii: "\""):
                    throw SeedInputError(line: line, "a quote inside an unquoted field; quote the whole field")
                default: field.append(byte)
                }
            case .quoted:
                if byte == UInt8(ascii: "\"") {
                    state = .quoteInQuoted
                } else {
                    if byte == UInt8(ascii: "\n") { line += 1 }
                    field.append(byte)
                }
            case .quoteInQuoted:
                switch byte {
                case UInt8(ascii: "\""):
                    field.append(byte)
                    state = .quoted
                case UInt8(ascii: ","): endField()
                case UInt8(ascii: "\n"): try endRecord(emit)
                case UInt8(ascii: "\r"): break
                default:
                    throw SeedInputError(line: line, "text after a closing quote; a quote inside a field is written \"\"")
                }
            }
        }
    }

    /// The input ended: flushes a last record without a final line break.
    mutating func finish(emit: (Record) throws(SeedInputError) -> Void) throws(SeedInputError) {
        if state == .quoted {
            throw SeedInputError(line: recordLine, "a quoted field is never closed")
        }
        if state != .fieldStart || !fields.isEmpty { try endRecord(emit) }
    }

    private mutating func endField() {
        fields.append(String(decoding: field, as: UTF8.self))
        field.removeAll(keepingCapacity: true)
        state = .fieldStart
    }

    private mutating func endRecord(_ emit: (Record) throws(SeedInputError) -> Void) throws(SeedInputError) {
        let isBlank = fields.isEmpty && field.isEmpty && state == .fieldStart
        if !isBlank {
            endField()
            try emit(Record(line: recordLine, fields: fields))
        }
        fields.removeAll(keepingCapacity: true)
        state = .fieldStart
        line += 1
        recordLine = line
    }
}
