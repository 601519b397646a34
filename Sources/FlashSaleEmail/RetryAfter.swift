import Foundation

/// Reads an HTTP `Retry-After` value (RFC 9110 §10.2.3): either a number of seconds or an HTTP-date.
///
/// Why it matters: a provider that answers 429 or 503 says when it will take mail again; retrying
/// sooner only earns more refusals (and may count against our quota).
enum RetryAfter {
    /// The wait the header asks for, measured from `now`; a date in the past means "now" (zero).
    /// `nil` for a missing or unreadable value, so the caller falls back on its own back-off.
    static func parse(_ value: String?, now: Date = Date()) -> Duration? {
        guard let value = value?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { return nil }
        if value.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) {
            guard let seconds = Int64(value) else { return nil }  // too many digits
            return .seconds(seconds)
        }
        guard let date = httpDate(value) else { return nil }
        let seconds = date.timeIntervalSince(now)
        return seconds <= 0 ? .zero : .seconds(seconds.rounded(.up))
    }

    /// IMF-fixdate first (what servers must send), then the two obsolete forms recipients must accept.
    static func httpDate(_ text: String) -> Date? {
        for format in ["EEE, dd MMM yyyy HH:mm:ss zzz", "EEEE, dd-MMM-yy HH:mm:ss zzz", "EEE MMM d HH:mm:ss yyyy"] {
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.timeZone = TimeZone(identifier: "GMT")
            formatter.dateFormat = format
            if let date = formatter.date(from: text) { return date }
        }
        return nil
    }
}
