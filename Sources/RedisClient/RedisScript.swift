import Synchronization

/// A Lua script run with EVALSHA. The script is loaded with SCRIPT LOAD on first use by a client,
/// and loaded again transparently when Redis answers NOSCRIPT (after a restart or SCRIPT FLUSH): a
/// NOSCRIPT reply means the script did not run, so the retry cannot run it twice.
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
        _ script: RedisScript, keys: [RedisArgument], arguments: [RedisArgument] = [], affinity: Int? = nil,
        timeout: Duration? = nil
    ) async throws -> RedisReply {
        func evalsha(_ sha: String) async throws -> RedisReply {
            try await send(
                Self.command("EVALSHA", .string(sha), keys: keys, arguments: arguments), affinity: affinity,
                timeout: timeout)
        }
        let sha: String
        if let known = script.sha, isLoaded(known) { sha = known } else { sha = try await load(script) }
        do {
            return try await evalsha(sha)
        } catch let error as RedisError where error.serverErrorCode == "NOSCRIPT" {
            forgetLoadedScripts()
            return try await evalsha(try await load(script))
        }
    }

    /// Runs the script without waiting for it (see ``send(_:affinity:timeout:onReply:)``), ordered
    /// with the commands sent after it with the same affinity. Until this client has loaded it, the
    /// script is sent whole (EVAL, which also caches it in Redis). Should Redis lose it in between
    /// (NOSCRIPT), it is run again from a task, no longer ordered; an awaited script meeting
    /// NOSCRIPT first (a purchase's reserve comes before its finalize) makes this one go whole.
    public func run(
        _ script: RedisScript, keys: [RedisArgument], arguments: [RedisArgument] = [], affinity: Int,
        onReply: @escaping @Sendable (Result<RedisReply, any Error>) -> Void
    ) {
        guard let sha = script.sha, isLoaded(sha) else {
            send(
                Self.command("EVAL", .string(script.source), keys: keys, arguments: arguments), affinity: affinity,
                onReply: onReply)
            Task { _ = try? await self.load(script) }
            return
        }
        send(Self.command("EVALSHA", .string(sha), keys: keys, arguments: arguments), affinity: affinity) { result in
            guard case .failure(let error as RedisError) = result, error.serverErrorCode == "NOSCRIPT" else {
                return onReply(result)
            }
            self.forgetLoadedScripts()
            self.reply(to: onReply) { try await self.run(script, keys: keys, arguments: arguments, affinity: affinity) }
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
        markLoaded(sha)
        return sha
    }

    private static func command(
        _ name: RedisArgument, _ script: RedisArgument, keys: [RedisArgument], arguments: [RedisArgument]
    ) -> [RedisArgument] {
        var command: [RedisArgument] = [name, script, .integer(Int64(keys.count))]
        command.reserveCapacity(3 + keys.count + arguments.count)
        command.append(contentsOf: keys)
        command.append(contentsOf: arguments)
        return command
    }
}
