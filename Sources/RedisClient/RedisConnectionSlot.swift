import ConnectionSlot
import NIOCore

/// One place in the client's pool: a connection to Redis, replaced on the first use after it
/// died. Failed attempts back off from 50 ms, doubling up to 1 s, so a down server is not hammered.
typealias RedisConnectionSlot = ReconnectingSlot<RedisConnection>

extension ReconnectingSlot where Connection == RedisConnection {
    static var maximumBackoff: TimeAmount { .seconds(1) }

    convenience init(configuration: RedisConfiguration, eventLoop: any EventLoop) {
        self.init(
            Behaviour(
                open: { try await RedisConnection.connect(configuration: configuration, eventLoop: eventLoop) },
                isLive: { $0.isActive },
                close: { await $0.close() },
                backoff: { failures in min(.milliseconds(25 << min(failures, 6)), Self.maximumBackoff) },
                failure: { $0 as? RedisError ?? .connectFailed("\($0)") },
                closed: { RedisError.clientClosed }))
    }
}
