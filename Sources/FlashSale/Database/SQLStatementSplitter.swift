/// Splits a SQL script into statements at top-level semicolons.
///
/// postgres-nio speaks only the extended query protocol, which takes one statement at a time,
/// so a migration file is run statement by statement. Semicolons inside string literals,
/// quoted identifiers, comments and dollar-quoted bodies (`$$ … $$`, `$fn$ … $fn$`) do not split.
public enum SQLStatementSplitter {
    public static func split(_ script: String) -> [String] {
        let text = Array(script.unicodeScalars)
        var statements: [String] = []
        var current = String.UnicodeScalarView()
        var index = 0

        func flush() {
            let statement = String(current).trimmingWhitespace()
            if !statement.isEmpty { statements.append(statement) }
            current.removeAll()
        }
        func peek(_ offset: Int) -> Unicode.Scalar? {
            index + offset < text.count ? text[index + offset] : nil
        }
        /// Copies text up to and including `terminator`, starting after the opening sequence.
        func copy(until terminator: [Unicode.Scalar]) {
            while index < text.count {
                if Array(text[index..<min(text.count, index + terminator.count)]) == terminator {
                    current.append(contentsOf: terminator)
                    index += terminator.count
                    return
                }
                current.append(text[index])
                index += 1
            }
        }

        while index < text.count {
            let scalar = text[index]
            switch scalar {
            case ";":
                index += 1
                flush()
            case "'", "\"":
                current.append(scalar)
                index += 1
                // A doubled quote inside a literal is an escaped quote: copying to the next quote and
                // then continuing sees the second quote as a new literal, which is equivalent.
                copy(until: [scalar])
            case "-" where peek(1) == "-":
                copy(until: ["\n"])
            case "/" where peek(1) == "*":
                current.append(contentsOf: ["/", "*"])
                index += 2
                copy(until: ["*", "/"])
            case "$":
                if let tag = dollarTag(in: text, at: index) {
                    current.append(contentsOf: tag)
                    index += tag.count
                    copy(until: tag)
                } else {
                    current.append(scalar)
                    index += 1
                }
            default:
                current.append(scalar)
                index += 1
            }
        }
        flush()
        return statements
    }

    /// `$tag$` starting at `start`, if one does (a `$1` parameter is not a tag).
    private static func dollarTag(in text: [Unicode.Scalar], at start: Int) -> [Unicode.Scalar]? {
        var end = start + 1
        while end < text.count, text[end] != "$" {
            let scalar = text[end]
            let isTagCharacter =
                scalar == "_" || scalar.properties.isAlphabetic
                || (end > start + 1 && ("0"..."9").contains(scalar))
            guard isTagCharacter else { return nil }
            end += 1
        }
        guard end < text.count else { return nil }
        return Array(text[start...end])
    }
}

extension String {
    func trimmingWhitespace() -> String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
            let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })
        else { return "" }
        return String(scalars[first...last])
    }
}
