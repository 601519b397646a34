import Foundation

/// Durations as operators type them: `90s`, `30m`, `1h`, `2d`, or plain seconds.
enum TimeSpan {
    static func seconds(_ text: String) -> Int64? {
        let units: [Character: Int64] = ["s": 1, "m": 60, "h": 3600, "d": 86_400]
        if let last = text.last, let unit = units[last], let value = Int64(text.dropLast()), value > 0 {
            return value * unit
        }
        if let value = Int64(text), value > 0 { return value }
        return nil
    }
}

/// Instants as operators type them: ISO 8601 (`2026-12-01T09:00:00Z`, `…+01:00`), `now`, or
/// `now+2h` / `now-30m` (any TimeSpan).
enum Moment {
    static func date(_ text: String, now: Date = Date()) -> Date? {
        if text == "now" { return now }
        if text.hasPrefix("now+") || text.hasPrefix("now-") {
            guard let seconds = TimeSpan.seconds(String(text.dropFirst(4))) else { return nil }
            return now.addingTimeInterval(Double(text.hasPrefix("now+") ? seconds : -seconds))
        }
        if let date = try? Date(text, strategy: .iso8601) { return date }
        return try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }
}
