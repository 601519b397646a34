/// The RFC 9457 body of an error answer. Lives in the domain because some answers are stored and
/// replayed byte for byte (a declined payment), so they must be rendered the same way every time.
/// Written by hand rather than through JSONEncoder: a sold-out answer is the most common response
/// on sale day, and building an encoder per answer cost a noticeable share of its time.
public enum ProblemBody {
    public static func render(status: Int, code: String, title: String, detail: String, extensions: [String: String] = [:])
        -> [UInt8]
    {
        var members: [(String, String)] = [
            ("code", quoted(code)),
            ("detail", quoted(detail)),
            ("status", String(status)),
            ("title", quoted(title)),
            ("type", quoted("https://flashsale.dev/problems/" + code.replacingOccurrences(of: "_", with: "-"))),
        ]
        let reserved = Set(members.map(\.0))
        for (key, value) in extensions where !reserved.contains(key) { members.append((key, quoted(value))) }
        members.sort { $0.0 < $1.0 }
        var json = "{"
        for (index, (key, value)) in members.enumerated() {
            if index > 0 { json += "," }
            json += quoted(key) + ":" + value
        }
        json += "}"
        return Array(json.utf8)
    }

    /// A JSON string literal (RFC 8259 escaping).
    static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case let control where control.value < 0x20:
                let hex = String(control.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
