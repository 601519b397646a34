import Foundation

/// The RFC 9457 body of an error answer. Lives in the domain because some answers are stored and
/// replayed byte for byte (a declined payment), so they must be rendered the same way every time.
public enum ProblemBody {
    public static func render(status: Int, code: String, title: String, detail: String, extensions: [String: String] = [:])
        -> [UInt8]
    {
        var body: [String: Member] = [
            "type": .text("https://flashsale.dev/problems/\(code.replacingOccurrences(of: "_", with: "-"))"),
            "title": .text(title),
            "status": .number(status),
            "detail": .text(detail),
            "code": .text(code),
        ]
        for (key, value) in extensions where body[key] == nil { body[key] = .text(value) }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding a dictionary of strings and integers cannot fail.
        return Array((try? encoder.encode(body)) ?? Data())
    }

    private enum Member: Encodable {
        case text(String)
        case number(Int)

        func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            switch self {
            case .text(let value): try container.encode(value)
            case .number(let value): try container.encode(value)
            }
        }
    }
}
