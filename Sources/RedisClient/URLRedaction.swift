/// A connection URL as it may be shown: in error messages and logs, with the password replaced.
/// Works on text that does not parse as a URL too, since those are exactly the ones echoed back.
public enum URLRedaction {
    public static let mask = "***"

    /// `scheme://user:secret@host/…` → `scheme://user:***@host/…`; `redis://:secret@host` → `redis://:***@host`.
    /// With `loneUserIsSecret` (Redis URLs, where `redis://secret@host` is a password), userinfo
    /// without a colon is masked whole.
    public static func redacted(_ text: String, loneUserIsSecret: Bool = false) -> String {
        guard let schemeEnd = text.firstRange(of: "://") else { return text }
        let authorityStart = schemeEnd.upperBound
        let authorityEnd = text[authorityStart...].firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? text.endIndex
        // The last @ of the authority ends the userinfo: a password may itself contain @.
        guard let at = text[authorityStart..<authorityEnd].lastIndex(of: "@") else { return text }
        guard let colon = text[authorityStart..<at].firstIndex(of: ":") else {
            return loneUserIsSecret ? String(text[..<authorityStart]) + mask + String(text[at...]) : text
        }
        return String(text[..<text.index(after: colon)]) + mask + String(text[at...])
    }
}
