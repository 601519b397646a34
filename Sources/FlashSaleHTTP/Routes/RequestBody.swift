import Foundation
import Hummingbird

/// Reads a small JSON body, answering 415 for one labelled as anything but JSON, 413 for an oversized
/// one and 400 for one that does not decode.
enum RequestBody {
    static let maximumBytes = 16 * 1024

    /// - Parameters:
    ///   - fastPath: reads the common shape of this body without JSONDecoder, or answers nil to leave
    ///     the body to JSONDecoder; it must never accept what JSONDecoder would read differently.
    ///   - wholeNumbers: fields that must be written as whole numbers (JSONDecoder reads `1.0` into
    ///     an integer as 1).
    static func decode<Body: Decodable>(
        _ type: Body.Type, from request: Request, context: AppRequestContext,
        fastPath: (UnsafeRawBufferPointer) -> Body? = { _ in nil }, wholeNumbers: [String] = []
    ) async throws -> Body {
        if let type = request.headers[.contentType], !isJSON(type) {
            throw Problem(
                status: .unsupportedMediaType, code: "unsupported_media_type", title: "Unsupported media type",
                detail: "the body must be application/json")
        }
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: maximumBytes)
        } catch {
            throw Problem(
                status: .contentTooLarge, code: "payload_too_large", title: "Payload too large",
                detail: "the body must be at most \(maximumBytes) bytes")
        }
        if let body = buffer.withUnsafeReadableBytes(fastPath) { return body }
        for field in wholeNumbers where !buffer.withUnsafeReadableBytes({ NumberLiteral.isWhole(field: field, in: $0) }) {
            throw Problem.invalidRequest("field \(field) must be a whole number")
        }
        do {
            return try context.requestDecoder.decode(Body.self, from: Data(buffer: buffer))
        } catch {
            throw Problem.invalidRequest("the body is not valid JSON of the expected shape: \(describe(error))")
        }
    }

    /// `application/json`, with or without parameters (`; charset=utf-8`), in any case. A request
    /// without a Content-Type is read as JSON all the same: the body can only be JSON here.
    static func isJSON(_ contentType: String) -> Bool {
        // What clients send nearly always, answered without Foundation's string handling (µs each).
        if contentType == "application/json" { return true }
        let mediaType = contentType.prefix { $0 != ";" }.trimmingCharacters(in: .whitespaces)
        return mediaType.caseInsensitiveCompare("application/json") == .orderedSame
    }

    private static func describe(_ error: any Error) -> String {
        switch error as? DecodingError {
        case .keyNotFound(let key, _)?: "missing field \(key.stringValue)"
        case .typeMismatch(_, let context)?, .valueNotFound(_, let context)?:
            "field \(context.codingPath.map(\.stringValue).joined(separator: ".")) has the wrong type"
        case .dataCorrupted(let context)?:
            context.codingPath.isEmpty
                ? "malformed JSON"
                : "field \(context.codingPath.map(\.stringValue).joined(separator: ".")) is invalid"
        default: "malformed JSON"
        }
    }
}

/// Reads the simplest JSON by hand, for fast paths: ASCII strings without escapes and plain integers.
/// Anything it does not know answers nil, so the caller falls back to JSONDecoder.
struct PlainJSONScanner {
    private let bytes: UnsafeRawBufferPointer
    private var index: Int

    init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
        index = bytes.startIndex
    }

    var atEnd: Bool { index == bytes.endIndex }

    /// Skips JSON whitespace, then consumes `byte` if it is next.
    mutating func take(_ byte: UInt8) -> Bool {
        skipWhitespace()
        guard index < bytes.endIndex, bytes[index] == byte else { return false }
        index += 1
        return true
    }

    mutating func skipWhitespace() {
        while index < bytes.endIndex {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    /// A string of printable ASCII without escapes.
    mutating func string() -> String? {
        guard take(UInt8(ascii: "\"")) else { return nil }
        let start = index
        while index < bytes.endIndex {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                defer { index += 1 }
                return String(decoding: bytes[start..<index], as: UTF8.self)
            }
            guard (0x20...0x7E).contains(byte), byte != UInt8(ascii: "\\") else { return nil }
            index += 1
        }
        return nil
    }

    /// An integer without fraction or exponent, at most 18 digits (so it always fits an Int64).
    mutating func integer() -> Int64? {
        skipWhitespace()
        var negative = false
        if index < bytes.endIndex, bytes[index] == UInt8(ascii: "-") {
            negative = true
            index += 1
        }
        let start = index
        var value: Int64 = 0
        while index < bytes.endIndex, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) {
            // Give up before a 19th digit could overflow.
            guard index - start < 18 else { return nil }
            value = value * 10 + Int64(bytes[index] - UInt8(ascii: "0"))
            index += 1
        }
        let digits = index - start
        guard digits >= 1, digits == 1 || bytes[start] != UInt8(ascii: "0") else { return nil }
        if index < bytes.endIndex {
            switch bytes[index] {
            case UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E"): return nil
            default: break
            }
        }
        return negative ? -value : value
    }
}
