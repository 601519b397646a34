/// The RFC 9457 body of an error answer. Lives in the domain because some answers are stored and
/// replayed byte for byte (a declined payment), so they must be rendered the same way every time.
/// Written by hand rather than through JSONEncoder: a sold-out answer is the most common response
/// on sale day, and building an encoder per answer cost a noticeable share of its time. Written
/// straight into bytes, too: building it from Strings (and Foundation's replacingOccurrences) was
/// still about 8% of the service's CPU time under a sold-out load.
public enum ProblemBody {
    private enum Value {
        case text(String)
        case integer(Int)
        /// The `type` URI, which is derived from the code.
        case problemType(code: String)
    }

    private static let standardKeys: Set<String> = ["code", "detail", "status", "title", "type"]
    private static let typePrefix = "https://flashsale.dev/problems/"

    public static func render(status: Int, code: String, title: String, detail: String, extensions: [String: String] = [:])
        -> [UInt8]
    {
        // Already in key order; extensions are merged in and sorted with the same String ordering.
        var members: [(key: String, value: Value)] = [
            ("code", .text(code)), ("detail", .text(detail)), ("status", .integer(status)), ("title", .text(title)),
            ("type", .problemType(code: code)),
        ]
        if !extensions.isEmpty {
            for (key, value) in extensions where !standardKeys.contains(key) { members.append((key, .text(value))) }
            members.sort { $0.key < $1.key }
        }
        var json: [UInt8] = []
        json.reserveCapacity(128 + code.utf8.count * 2 + title.utf8.count + detail.utf8.count)
        json.append(UInt8(ascii: "{"))
        for (index, member) in members.enumerated() {
            if index > 0 { json.append(UInt8(ascii: ",")) }
            JSONBytes.appendQuoted(member.key, to: &json)
            json.append(UInt8(ascii: ":"))
            switch member.value {
            case .text(let text): JSONBytes.appendQuoted(text, to: &json)
            case .integer(let number): JSONBytes.appendInteger(Int64(number), to: &json)
            case .problemType(let code):
                // The code's underscores become hyphens in the URI.
                json.append(UInt8(ascii: "\""))
                json.append(contentsOf: typePrefix.utf8)
                for byte in code.utf8 {
                    JSONBytes.appendEscaped(byte == UInt8(ascii: "_") ? UInt8(ascii: "-") : byte, to: &json)
                }
                json.append(UInt8(ascii: "\""))
            }
        }
        json.append(UInt8(ascii: "}"))
        return json
    }
}
