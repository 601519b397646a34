import Foundation

/// Pieces of JSON written straight into bytes, in `APIJSON`'s form, for the answers of the
/// purchase path: JSONEncoder cost about 6% of the service's CPU time there (its key conversion
/// and date formatting run per field and per answer).
enum JSONBytes {
    private static let hexDigits = Array("0123456789abcdef".utf8)

    /// A JSON string literal (RFC 8259 escaping).
    static func appendQuoted(_ text: String, to json: inout [UInt8]) {
        json.append(UInt8(ascii: "\""))
        for byte in text.utf8 { appendEscaped(byte, to: &json) }
        json.append(UInt8(ascii: "\""))
    }

    /// Works byte by byte: in UTF-8 every byte of a multi-byte scalar is >= 0x80, so only ASCII is
    /// escaped. Slashes stay unescaped, as in `APIJSON`.
    static func appendEscaped(_ byte: UInt8, to json: inout [UInt8]) {
        switch byte {
        case UInt8(ascii: "\""): json.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
        case UInt8(ascii: "\\"): json.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
        case UInt8(ascii: "\n"): json.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
        case UInt8(ascii: "\r"): json.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
        case UInt8(ascii: "\t"): json.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
        case 0..<0x20:
            json.append(contentsOf: [
                UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"),
                hexDigits[Int(byte >> 4)], hexDigits[Int(byte & 0xF)],
            ])
        default: json.append(byte)
        }
    }

    /// `"key":`, for keys that need no escaping.
    static func appendKey(_ key: StaticString, to json: inout [UInt8]) {
        json.append(UInt8(ascii: "\""))
        key.withUTF8Buffer { json.append(contentsOf: $0) }
        json.append(UInt8(ascii: "\""))
        json.append(UInt8(ascii: ":"))
    }

    static func appendInteger(_ number: Int64, to json: inout [UInt8]) {
        json.append(contentsOf: String(number).utf8)
    }

    /// A quoted RFC 3339 UTC time in whole seconds (`"2026-11-23T21:40:00Z"`), rounded down as
    /// JSONEncoder's `.iso8601` does.
    static func appendTimestamp(_ date: Date, to json: inout [UInt8]) {
        let seconds = Int64(date.timeIntervalSince1970.rounded(.down))
        let (days, secondOfDay) = seconds.quotientAndRemainder(dividingBy: 86_400)
        let (day, dayOffset) = secondOfDay < 0 ? (days - 1, secondOfDay + 86_400) : (days, secondOfDay)
        let (year, month, dayOfMonth) = civil(fromDays: day)
        json.append(UInt8(ascii: "\""))
        appendDigits(year, count: 4, to: &json)
        json.append(UInt8(ascii: "-"))
        appendDigits(month, count: 2, to: &json)
        json.append(UInt8(ascii: "-"))
        appendDigits(dayOfMonth, count: 2, to: &json)
        json.append(UInt8(ascii: "T"))
        appendDigits(dayOffset / 3600, count: 2, to: &json)
        json.append(UInt8(ascii: ":"))
        appendDigits(dayOffset / 60 % 60, count: 2, to: &json)
        json.append(UInt8(ascii: ":"))
        appendDigits(dayOffset % 60, count: 2, to: &json)
        json.append(contentsOf: [UInt8(ascii: "Z"), UInt8(ascii: "\"")])
    }

    private static func appendDigits(_ value: Int64, count: Int, to json: inout [UInt8]) {
        var divisor: Int64 = 1
        for _ in 1..<count { divisor *= 10 }
        var rest = value
        while divisor > 0 {
            json.append(UInt8(ascii: "0") + UInt8(rest / divisor % 10))
            rest %= divisor
            divisor /= 10
        }
    }

    /// Year, month and day of a count of days since 1970-01-01 in the proleptic Gregorian calendar
    /// (Howard Hinnant's `civil_from_days`).
    private static func civil(fromDays days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shiftedMonth = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * shiftedMonth + 2) / 5 + 1
        let month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}

/// A JSON object written member by member; the caller gives the members in key order.
public struct JSONObjectBytes {
    private(set) var bytes: [UInt8]

    public init(capacity: Int) {
        bytes = []
        bytes.reserveCapacity(capacity)
        bytes.append(UInt8(ascii: "{"))
    }

    public mutating func integer(_ key: StaticString, _ value: Int64) {
        open(key)
        JSONBytes.appendInteger(value, to: &bytes)
    }

    public mutating func text(_ key: StaticString, _ value: String) {
        open(key)
        JSONBytes.appendQuoted(value, to: &bytes)
    }

    public mutating func timestamp(_ key: StaticString, _ value: Date) {
        open(key)
        JSONBytes.appendTimestamp(value, to: &bytes)
    }

    public mutating func finish() -> [UInt8] {
        bytes.append(UInt8(ascii: "}"))
        return bytes
    }

    private mutating func open(_ key: StaticString) {
        if bytes.count > 1 { bytes.append(UInt8(ascii: ",")) }
        JSONBytes.appendKey(key, to: &bytes)
    }
}
