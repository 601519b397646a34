/// One argument of a Redis command. Strings and integers are sent as their UTF-8 / decimal text;
/// bytes are sent as they are, so values are binary-safe.
public enum RedisArgument: Sendable, Hashable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral {
    case string(String)
    case bytes([UInt8])
    case integer(Int64)

    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int64) { self = .integer(value) }

    func append(to storage: inout [UInt8]) {
        switch self {
        case .string(let text): storage.append(contentsOf: text.utf8)
        case .bytes(let bytes): storage.append(contentsOf: bytes)
        case .integer(let value): storage.append(contentsOf: String(value).utf8)
        }
    }
}
