/// Everything that can go wrong talking to Redis, as a Swift error (never a crash).
public enum RedisError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Redis answered with an error reply, e.g. `WRONGTYPE …` or `NOSCRIPT …`.
    case server(String)
    /// No reply within the command's timeout. The reply, if it ever comes, is discarded.
    case timeout
    /// The connection closed (or could not be opened) before the reply arrived.
    case connectionClosed
    case connectFailed(String)
    /// The server sent bytes that are not RESP; the connection is closed.
    case protocolError(String)
    /// The client was shut down.
    case clientClosed
    case invalidURL(String)

    public var description: String {
        switch self {
        case .server(let message): "Redis error: \(message)"
        case .timeout: "Redis command timed out"
        case .connectionClosed: "Redis connection closed"
        case .connectFailed(let reason): "cannot connect to Redis: \(reason)"
        case .protocolError(let reason): "Redis protocol error: \(reason)"
        case .clientClosed: "Redis client is closed"
        case .invalidURL(let reason): "invalid REDIS_URL: \(reason)"
        }
    }

    /// The error code Redis puts first in an error reply (`NOSCRIPT`, `WRONGTYPE`, `ERR`, …).
    public var serverErrorCode: Substring? {
        guard case .server(let message) = self else { return nil }
        return message.split(separator: " ", maxSplits: 1).first
    }
}
