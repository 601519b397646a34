/// A reply from Redis, typed the way RESP2 types it.
///
/// A top-level error reply is thrown as ``RedisError/server(_:)``; error replies nested inside
/// an array (for example in an `EXEC` result) stay values, so one failed element does not hide the others.
public enum RedisReply: Sendable, Hashable {
    case status(String)
    case integer(Int64)
    case bulk([UInt8])
    case array([RedisReply])
    case null
    case error(String)
}

extension RedisReply {
    /// The reply as text: bulk strings decoded as UTF-8, status lines as they are, integers in decimal.
    public var string: String? {
        switch self {
        case .bulk(let bytes): String(decoding: bytes, as: UTF8.self)
        case .status(let text): text
        case .integer(let value): String(value)
        default: nil
        }
    }

    /// The reply as an integer: integer replies, and bulk strings holding a decimal number (what GET returns).
    public var integer: Int64? {
        switch self {
        case .integer(let value): value
        case .bulk(let bytes): Int64(String(decoding: bytes, as: UTF8.self))
        default: nil
        }
    }

    public var bytes: [UInt8]? {
        if case .bulk(let bytes) = self { return bytes }
        return nil
    }

    public var array: [RedisReply]? {
        if case .array(let elements) = self { return elements }
        return nil
    }

    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }
}
