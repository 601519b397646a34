import Foundation

/// Splits a JSON array of objects (`[{…}, {…}]`) fed in chunks into one object at a time, so a
/// large file never sits in memory whole. Each object is then decoded on its own.
struct JSONObjectReader {
    struct Object {
        /// The line the object starts on (1-based).
        var line: Int
        var fields: [String: String]
    }

    private enum Position {
        case beforeArray, beforeObject, inObject, afterObject, afterArray
    }

    private var position = Position.beforeArray
    private var object: [UInt8] = []
    private var depth = 0
    private var inString = false
    private var escaped = false
    private var line = 1
    private var objectLine = 1

    mutating func feed(_ bytes: some Collection<UInt8>, emit: (Object) throws(SeedInputError) -> Void)
        throws(SeedInputError)
    {
        for byte in bytes {
            if position == .inObject {
                object.append(byte)
                if byte == UInt8(ascii: "\n") { line += 1 }
                if inString {
                    if escaped {
                        escaped = false
                    } else if byte == UInt8(ascii: "\\") {
                        escaped = true
                    } else if byte == UInt8(ascii: "\"") {
                        inString = false
                    }
                    continue
                }
                switch byte {
                case UInt8(ascii: "\""): inString = true
                case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    depth -= 1
                    if depth == 0 {
                        try emit(Object(line: objectLine, fields: try Self.decode(object, line: objectLine)))
                        object.removeAll(keepingCapacity: true)
                        position = .afterObject
                    }
                default: break
                }
                continue
            }
            switch byte {
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\r"): continue
            case UInt8(ascii: "\n"):
                line += 1
                continue
            default: break
            }
            switch (position, byte) {
            case (.beforeArray, UInt8(ascii: "[")): position = .beforeObject
            case (.beforeObject, UInt8(ascii: "{")):
                position = .inObject
                object = [byte]
                depth = 1
                objectLine = line
            case (.beforeObject, UInt8(ascii: "]")), (.afterObject, UInt8(ascii: "]")): position = .afterArray
            case (.afterObject, UInt8(ascii: ",")): position = .beforeObject
            case (.beforeArray, _):
                throw SeedInputError(line: line, "a JSON seed file is an array of objects: it must start with '['")
            default:
                throw SeedInputError(line: line, "unexpected '\(Character(Unicode.Scalar(byte)))' between items")
            }
        }
    }

    func finish() throws(SeedInputError) {
        guard position == .afterArray else {
            throw SeedInputError(line: position == .inObject ? objectLine : line, "the JSON array is not closed")
        }
    }

    /// One flat object: strings as they are, whole numbers as their digits; the row parser judges the text.
    private static func decode(_ bytes: [UInt8], line: Int) throws(SeedInputError) -> [String: String] {
        do {
            return try decoder.decode([String: Scalar].self, from: Data(bytes)).mapValues(\.text)
        } catch DecodingError.typeMismatch(_, let context) {
            let key = context.codingPath.last?.stringValue ?? "an item"
            throw SeedInputError(line: line, "\(key) must be a string or a number")
        } catch {
            throw SeedInputError(line: line, "not a valid JSON object")
        }
    }

    private static let decoder = JSONDecoder()

    private struct Scalar: Decodable {
        let text: String

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let string = try? container.decode(String.self) {
                text = string
            } else if let whole = try? container.decode(Int64.self) {
                text = String(whole)
            } else if let number = try? container.decode(Double.self) {
                text = String(number)
            } else if let flag = try? container.decode(Bool.self) {
                text = String(flag)
            } else {
                throw DecodingError.typeMismatch(
                    String.self, .init(codingPath: decoder.codingPath, debugDescription: "not a scalar"))
            }
        }
    }
}
