import RedisClient

/// The clients blocked for refusal upon refusal, as an operator sees them: listed with the time
/// they have left, and lifted. A lifted block ends on every instance within
/// a few seconds (each instance looks a remembered block up again that often).
public struct ClientBlocks: Sendable {
    public struct Block: Sendable, Equatable {
        /// `client_ip:203.0.113.9` or `shopper:alice`.
        public var subject: String
        public var secondsLeft: Double
    }

    let redis: RedisClient

    public init(redis: RedisClient) {
        self.redis = redis
    }

    /// Every block standing now, longest first. A SCAN of one Redis (on a Cluster, of each node).
    public func list() async throws -> [Block] {
        var blocks: [Block] = []
        var cursor = "0"
        repeat {
            let reply = try await redis.send("SCAN", .string(cursor), "MATCH", "fs:rl:{*}:block", "COUNT", "1000")
            guard case .array(let parts) = reply, parts.count == 2, case .bulk(let next) = parts[0],
                case .array(let keys) = parts[1]
            else { throw RedisError.protocolError("SCAN answered \(reply)") }
            cursor = String(decoding: next, as: UTF8.self)
            for case .bulk(let bytes) in keys {
                let key = String(decoding: bytes, as: UTF8.self)
                guard case .integer(let milliseconds) = try await redis.send("PTTL", .string(key)), milliseconds > 0,
                    let subject = Self.subject(ofBlockKey: key)
                else { continue }
                blocks.append(Block(subject: subject, secondsLeft: Double(milliseconds) / 1000))
            }
        } while cursor != "0"
        return blocks.sorted { ($0.secondsLeft, $0.subject) > ($1.secondsLeft, $1.subject) }
    }

    /// Ends the block of `subject` (and forgets its strikes). False when there was none.
    /// - Throws: ``UnknownSubject`` when `subject` is not `client_ip:…` or `shopper:…`.
    public func lift(_ subject: String) async throws -> Bool {
        guard let keys = RedisRateLimiter.blockKeys(subject) else { throw UnknownSubject(subject: subject) }
        guard case .integer(let deleted) = try await redis.send("DEL", .string(keys.block), .string(keys.strikes)) else {
            return false
        }
        return deleted > 0
    }

    static func subject(ofBlockKey key: String) -> String? {
        let prefix = "fs:rl:{"
        let suffix = "}:block"
        guard key.hasPrefix(prefix), key.hasSuffix(suffix) else { return nil }
        return String(key.dropFirst(prefix.count).dropLast(suffix.count))
    }

    public struct UnknownSubject: Error, CustomStringConvertible {
        public let subject: String

        public init(subject: String) {
            self.subject = subject
        }

        public var description: String {
            "'\(subject)' is not a blocked subject: write client_ip:<address> or shopper:<id>, as `flashsale blocks` lists them"
        }
    }
}
