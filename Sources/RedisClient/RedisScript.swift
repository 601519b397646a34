import Synchronization

/// A Lua script run with EVALSHA. The script is loaded with SCRIPT LOAD on first use, and loaded
/// again transparently when Redis answers NOSCRIPT (after a restart or SCRIPT FLUSH): a NOSCRIPT
/// reply means the script did not run, so the retry cannot run it twice.
public final class RedisScript: Sendable {
    public let source: String
    private let loadedSHA = Mutex<String?>(nil)

    public init(_ source: String) {
        self.source = source
    }

    var sha: String? { loadedSHA.withLock { $0 } }

    func remember(_ sha: String) { loadedSHA.withLock { $0 = sha } }
}

extension RedisClient {
    public func run(
        _ script: RedisScript, keys: [RedisArgument], arguments: [RedisArgument] = [], timeout: Duration? = nil
    ) async throws -> RedisReply {
        let sha: String
        if let known = script.sha { sha = known } else { sha = try await load(script) }
        do {
            return try await evalsha(sha, keys: keys, arguments: arguments, timeout: timeout)
        } catch let error as RedisError where error.serverErrorCode == "NOSCRIPT" {
            let reloaded = try await load(script)
            return try await evalsha(reloaded, keys: keys, arguments: arguments, timeout: timeout)
        }
    }

    /// Loads the script into Redis' script cache and returns its SHA1.
    @discardableResult
    public func load(_ script: RedisScript) async throws -> String {
        let reply = try await send(["SCRIPT", "LOAD", .string(script.source)])
        guard let sha = reply.string else {
            throw RedisError.protocolError("SCRIPT LOAD answered \(reply), not a SHA1")
        }
        script.remember(sha)
        return sha
    }

    private func evalsha(
        _ sha: String, keys: [RedisArgument], arguments: [RedisArgument], timeout: Duration?
    ) async throws -> RedisReply {
        var command: [RedisArgument] = ["EVALSHA", .string(sha), .integer(Int64(keys.count))]
        command.reserveCapacity(3 + keys.count + arguments.count)
        command.append(contentsOf: keys)
        command.append(contentsOf: arguments)
        return try await send(command, timeout: timeout)
    }
}
