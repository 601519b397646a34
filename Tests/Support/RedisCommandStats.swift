import RedisClient

/// What a redis-server ran, for tests that prove a path does not reach Redis.
public enum RedisCommandStats {
    /// Calls per command so far (`evalsha`, `mget`, …), from `INFO commandstats`.
    public static func calls(_ redis: RedisClient) async throws -> [String: Int] {
        guard case .bulk(let bytes) = try await redis.send("INFO", "commandstats") else { return [:] }
        var calls: [String: Int] = [:]
        for line in String(decoding: bytes, as: UTF8.self).split(whereSeparator: \.isNewline) where line.hasPrefix("cmdstat_") {
            let parts = line.dropFirst("cmdstat_".count).split(separator: ":", maxSplits: 1)
            guard parts.count == 2, let count = parts[1].split(separator: ",").first?.split(separator: "=").last else { continue }
            calls[String(parts[0])] = Int(count)
        }
        return calls
    }

    /// Scripts run so far (EVALSHA and EVAL).
    public static func scriptRuns(_ redis: RedisClient) async throws -> Int {
        let calls = try await calls(redis)
        return calls["evalsha", default: 0] + calls["eval", default: 0]
    }
}
