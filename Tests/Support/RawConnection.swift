import Foundation
import NIOCore
import NIOPosix
import Synchronization

/// A TCP connection written to by hand, a few bytes at a time: a slow client, a half-sent request,
/// or a connection that watches for the server to hang up.
public final class RawConnection: Sendable {
    public let channel: any Channel
    private let received: Received

    private init(channel: any Channel, received: Received) {
        self.channel = channel
        self.received = received
    }

    public static func open(port: Int, host: String = "127.0.0.1") async throws -> RawConnection {
        let received = Received()
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(Collector(received))
                }
            }
            .connect(host: host, port: port).get()
        return RawConnection(channel: channel, received: received)
    }

    /// Sends `text` now; false when the connection is already closed.
    @discardableResult
    public func send(_ text: String) async -> Bool {
        do {
            try await channel.writeAndFlush(ByteBuffer(string: text))
            return true
        } catch {
            return false
        }
    }

    /// Whether the server closed the connection (or it was reset), waiting up to `seconds` for it.
    public func closes(within seconds: Double) async -> Bool {
        let deadline = ContinuousClock.now + .milliseconds(Int64(seconds * 1000))
        while channel.isActive && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        return !channel.isActive
    }

    public var isOpen: Bool { channel.isActive }

    /// The next complete response (status and body; bodies need a Content-Length), or nil if none
    /// arrives within `seconds`. What it reads is consumed, so keep-alive requests can follow.
    public func response(within seconds: Double = 15) async -> (status: Int, body: String)? {
        let deadline = ContinuousClock.now + .milliseconds(Int64(seconds * 1000))
        while ContinuousClock.now < deadline {
            if let response = received.takeResponse() { return response }
            if !channel.isActive { return received.takeResponse() }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return nil
    }

    public func close() {
        channel.close(promise: nil)
    }
}

private final class Received: Sendable {
    private let bytes = Mutex<[UInt8]>([])

    func append(_ buffer: ByteBuffer) {
        bytes.withLock { $0.append(contentsOf: buffer.readableBytesView) }
    }

    func takeResponse() -> (status: Int, body: String)? {
        bytes.withLock { bytes in
            let separator: [UInt8] = Array("\r\n\r\n".utf8)
            guard let end = (0..<max(0, bytes.count - 3)).first(where: { Array(bytes[$0..<$0 + 4]) == separator }) else {
                return nil
            }
            let head = String(decoding: bytes[..<end], as: UTF8.self)
            let lines = head.split(separator: "\r\n")
            guard let statusLine = lines.first, statusLine.split(separator: " ").count >= 2,
                let status = Int(statusLine.split(separator: " ")[1])
            else { return nil }
            let length =
                lines.dropFirst().compactMap { line -> Int? in
                    let parts = line.split(separator: ":", maxSplits: 1)
                    guard parts.count == 2, parts[0].lowercased() == "content-length" else { return nil }
                    return Int(parts[1].trimmingCharacters(in: .whitespaces))
                }.first ?? 0
            let bodyStart = end + 4
            guard bytes.count >= bodyStart + length else { return nil }
            let body = String(decoding: bytes[bodyStart..<bodyStart + length], as: UTF8.self)
            bytes.removeFirst(bodyStart + length)
            return (status, body)
        }
    }
}

private final class Collector: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer

    private let received: Received

    init(_ received: Received) {
        self.received = received
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        received.append(Self.unwrapInboundIn(data))
    }
}
