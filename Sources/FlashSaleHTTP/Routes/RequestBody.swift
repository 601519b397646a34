import Foundation
import Hummingbird

/// Reads a small JSON body, answering 413 for an oversized one and 400 for one that does not decode.
enum RequestBody {
    static let maximumBytes = 16 * 1024

    static func decode<Body: Decodable>(_ type: Body.Type, from request: Request, context: AppRequestContext)
        async throws -> Body
    {
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: maximumBytes)
        } catch {
            throw Problem(
                status: .contentTooLarge, code: "payload_too_large", title: "Payload too large",
                detail: "the body must be at most \(maximumBytes) bytes")
        }
        do {
            return try context.requestDecoder.decode(Body.self, from: Data(buffer: buffer))
        } catch {
            throw Problem.invalidRequest("the body is not valid JSON of the expected shape: \(describe(error))")
        }
    }

    private static func describe(_ error: any Error) -> String {
        switch error as? DecodingError {
        case .keyNotFound(let key, _)?: "missing field \(key.stringValue.snakeCased)"
        case .typeMismatch(_, let context)?, .valueNotFound(_, let context)?:
            "field \(context.codingPath.map(\.stringValue.snakeCased).joined(separator: ".")) has the wrong type"
        case .dataCorrupted(let context)?:
            context.codingPath.isEmpty
                ? "malformed JSON"
                : "field \(context.codingPath.map(\.stringValue.snakeCased).joined(separator: ".")) is invalid"
        default: "malformed JSON"
        }
    }
}

extension String {
    /// `paymentMethod` → `payment_method`, to name fields as clients spell them.
    var snakeCased: String {
        var result = ""
        for character in self {
            if character.isUppercase {
                result += "_" + character.lowercased()
            } else {
                result.append(character)
            }
        }
        return result
    }
}
