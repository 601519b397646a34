import Foundation

/// The pieces of RFC 5322 / RFC 2045 / RFC 2047 an `.eml` file needs: header values that stay
/// ASCII and on their lines, and a body whose transfer encoding any mail client can read.
enum MIMEText {
    /// A header value with CR and LF replaced by spaces: a subject like "Hi\r\nBcc: x" must not
    /// become a second header (header injection).
    static func singleLine(_ value: String) -> String {
        String(value.map { $0 == "\r" || $0 == "\n" || $0 == "\r\n" ? " " : $0 })
    }

    static func isASCII(_ text: String) -> Bool { text.utf8.allSatisfy { $0 < 0x80 } }

    /// An unstructured header value (Subject): as it is when ASCII, else RFC 2047 encoded-words
    /// (`=?UTF-8?B?…?=`, each at most 75 characters, never splitting a character), folded so no
    /// line exceeds 78 characters. `nameLength` is the header name's length plus ": ".
    static func unstructured(_ value: String, nameLength: Int) -> String {
        let value = singleLine(value)
        if isASCII(value) { return value }
        return encodedWords(value, firstLineUsed: nameLength).joined(separator: "\r\n ")
    }

    /// An address header value (From, To): `addr` or `Display Name <addr>`. A non-ASCII display name
    /// becomes encoded-words; an ASCII one with specials is quoted. The address itself is left
    /// alone: RFC 2047 cannot encode an addr-spec.
    static func address(_ value: String, nameLength: Int) -> String {
        let value = singleLine(value).trimmingWhitespace()
        guard value.hasSuffix(">"), let open = value.lastIndex(of: "<") else { return value }
        var name = String(value[..<open]).trimmingWhitespace()
        let spec = value[open...]
        if name.count >= 2, name.hasPrefix("\""), name.hasSuffix("\"") { name = String(name.dropFirst().dropLast()) }
        if name.isEmpty { return String(spec) }
        if isASCII(name) {
            let specials = Set("()<>[]:;@\\,.\"")
            guard name.contains(where: { specials.contains($0) }) else { return "\(name) \(spec)" }
            let escaped = name.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            return "\"\(escaped)\" \(spec)"
        }
        return (encodedWords(name, firstLineUsed: nameLength) + [String(spec)]).joined(separator: "\r\n ")
    }

    /// Base64 encoded-words of whole characters, each at most 75 characters long (RFC 2047 §2).
    static func encodedWords(_ text: String, firstLineUsed: Int) -> [String] {
        // "=?UTF-8?B?" + "?=" is 12 characters; 75 - 12 = 63 of base64, i.e. 45 bytes (4 chars per 3 bytes).
        let maxBytes = 45
        var words: [String] = []
        var chunk: [UInt8] = []
        for character in text {
            let bytes = Array(String(character).utf8)
            if !chunk.isEmpty && chunk.count + bytes.count > maxBytes {
                words.append("=?UTF-8?B?\(base64(chunk))?=")
                chunk = []
            }
            chunk.append(contentsOf: bytes)
        }
        if !chunk.isEmpty { words.append("=?UTF-8?B?\(base64(chunk))?=") }
        return words
    }

    enum TransferEncoding: String {
        case sevenBit = "7bit"
        case eightBit = "8bit"
        case quotedPrintable = "quoted-printable"
    }

    /// The body with CRLF line ends, and the encoding it needs: 7bit for short ASCII lines, 8bit for
    /// short UTF-8 lines (readable as it is in the file), quoted-printable once a line is longer
    /// than RFC 5322's 998 bytes.
    static func body(_ text: String) -> (encoding: TransferEncoding, text: String) {
        let lines = Self.lines(of: text)
        if lines.allSatisfy({ $0.utf8.count <= 998 }) {
            return (isASCII(text) ? .sevenBit : .eightBit, lines.joined(separator: "\r\n") + "\r\n")
        }
        return (.quotedPrintable, lines.map(Self.quotedPrintable).joined(separator: "\r\n") + "\r\n")
    }

    /// The lines of `text`, whatever ends them (LF, CRLF or a lone CR). Works on Unicode scalars:
    /// to `String`, "\r\n" is one `Character`, which would hide it from a split on "\n".
    static func lines(of text: String) -> [String] {
        var lines: [String] = []
        var current = String.UnicodeScalarView()
        var afterCR = false
        for scalar in text.unicodeScalars {
            if scalar == "\n" && afterCR {
                afterCR = false
                continue
            }
            afterCR = scalar == "\r"
            if scalar == "\n" || scalar == "\r" {
                lines.append(String(current))
                current = String.UnicodeScalarView()
            } else {
                current.append(scalar)
            }
        }
        lines.append(String(current))
        return lines
    }

    /// One line in quoted-printable (RFC 2045 §6.7): `=XX` for '=', control and non-ASCII bytes,
    /// trailing whitespace encoded, soft line breaks keeping encoded lines within 76 characters.
    static func quotedPrintable(_ line: String) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        let bytes = Array(line.utf8)
        var out: [UInt8] = []
        var lineLength = 0
        for (index, byte) in bytes.enumerated() {
            let isLast = index == bytes.count - 1
            let literal =
                (byte >= 33 && byte <= 126 && byte != UInt8(ascii: "="))
                || ((byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t")) && !isLast)
            let piece: [UInt8] = literal ? [byte] : [UInt8(ascii: "="), hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]]
            if lineLength + piece.count > 75 {
                out.append(contentsOf: Array("=\r\n".utf8))
                lineLength = 0
            }
            out.append(contentsOf: piece)
            lineLength += piece.count
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func base64(_ bytes: [UInt8]) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        var out: [UInt8] = []
        var index = 0
        while index < bytes.count {
            let b0 = bytes[index]
            let b1 = index + 1 < bytes.count ? bytes[index + 1] : 0
            let b2 = index + 2 < bytes.count ? bytes[index + 2] : 0
            out.append(alphabet[Int(b0 >> 2)])
            out.append(alphabet[Int((b0 & 0x03) << 4 | b1 >> 4)])
            out.append(index + 1 < bytes.count ? alphabet[Int((b1 & 0x0F) << 2 | b2 >> 6)] : UInt8(ascii: "="))
            out.append(index + 2 < bytes.count ? alphabet[Int(b2 & 0x3F)] : UInt8(ascii: "="))
            index += 3
        }
        return String(decoding: out, as: UTF8.self)
    }
}

extension String {
    func trimmingWhitespace() -> String { trimmingCharacters(in: .whitespaces) }
}
