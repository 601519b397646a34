/// What JSONDecoder hides: how a number was written. It reads `1.0` and `1e0` into an integer
/// field as 1, but a quantity written as a fraction is a client bug worth a 400, not a guess.
enum NumberLiteral {
    /// Whether the value of the top-level `field` of the JSON object in `bytes`, when it is a
    /// number, is written without fraction or exponent. Anything else (absent, a string, nested
    /// deeper) is left for the decoder to judge. Keys are compared as written, without unescaping.
    static func isWhole(field: String, in bytes: UnsafeRawBufferPointer) -> Bool {
        let key = Array(field.utf8)
        var depth = 0
        var index = bytes.startIndex
        // The string just read, while only whitespace follows it: a key if a colon comes next.
        var lastString: Range<Int>?
        while index < bytes.endIndex {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                let start = index + 1
                index = start
                while index < bytes.endIndex, bytes[index] != UInt8(ascii: "\"") {
                    index += bytes[index] == UInt8(ascii: "\\") ? 2 : 1
                }
                lastString = start..<min(index, bytes.endIndex)
                index += 1
                continue
            }
            switch byte {
            case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"): depth -= 1
            case UInt8(ascii: ":"):
                if depth == 1, let name = lastString, bytes[name].elementsEqual(key) {
                    return wholeNumberOrNotANumber(bytes, from: index + 1)
                }
            default: break
            }
            if !isSpace(byte) { lastString = nil }
            index += 1
        }
        return true
    }

    private static func wholeNumberOrNotANumber(_ bytes: UnsafeRawBufferPointer, from start: Int) -> Bool {
        var index = start
        while index < bytes.endIndex, isSpace(bytes[index]) { index += 1 }
        guard index < bytes.endIndex, bytes[index] == UInt8(ascii: "-") || (0x30...0x39).contains(bytes[index]) else {
            return true
        }
        while index < bytes.endIndex {
            switch bytes[index] {
            case UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E"): return false
            case UInt8(ascii: "-"), UInt8(ascii: "+"), 0x30...0x39: index += 1
            default: return true
            }
        }
        return true
    }

    private static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D
    }
}
