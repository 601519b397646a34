import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// The service's HTTP API as the simulated shoppers call it: one bounded pool of connections
/// (async-http-client) per run, every request recorded with its latency from its scheduled send
/// to its answer's last byte.
public struct ServiceClient: Sendable {
    /// An answer with the parts of its body a shopper acts on.
    public struct Reply: Sendable {
        public var answer: Answer
        public var body: [String: any Sendable]
        /// Seconds from `Retry-After`, when the answer carried one.
        public var retryAfter: Double?

        func string(_ key: String) -> String? { body[key] as? String }
    }

    let http: HTTPClient
    let recorder: RunRecorder
    let timeout: TimeAmount
    /// Sent as `X-Forwarded-For`, as a load balancer would: each simulated shopper (and each bot)
    /// is its own client address to a service that trusts this machine as a proxy.
    var forwardedFor: String?

    public init(http: HTTPClient, recorder: RunRecorder, timeout: TimeAmount = .seconds(30)) {
        self.http = http
        self.recorder = recorder
        self.timeout = timeout
    }

    /// Sends `method path` to `target` once `scheduled` has come (at once when it has passed), and
    /// records the answer against that scheduled time.
    public func send(
        _ endpoint: Endpoint, _ method: HTTPMethod, target: String, path: String, jwt: String? = nil,
        idempotencyKey: String? = nil, json: String? = nil, scheduled: ContinuousClock.Instant
    ) async -> Reply {
        let clock = ContinuousClock()
        let scheduled = await SendTicks.wait(until: scheduled, origin: recorder.start)
        let sent = clock.now
        recorder.sent(lag: sent - scheduled)
        var headers = HTTPHeaders()
        if let forwardedFor { headers.add(name: "X-Forwarded-For", value: forwardedFor) }
        if let jwt { headers.add(name: "Authorization", value: "Bearer " + jwt) }
        if let idempotencyKey { headers.add(name: "Idempotency-Key", value: idempotencyKey) }
        if json != nil { headers.add(name: "Content-Type", value: "application/json") }
        let reply: Reply
        var wire = (sent: sent, answered: sent)
        do {
            let request = try HTTPClient.Request(
                url: target + path, method: method, headers: headers, body: json.map { .byteBuffer(ByteBuffer(string: $0)) })
            let response = try await http.execute(request: request, delegate: WireTimedResponse(), deadline: .now() + timeout)
                .futureResult.get()
            wire = (response.sent ?? sent, response.answered)
            let object = (try? JSONSerialization.jsonObject(with: Data(buffer: response.body))) as? [String: Any] ?? [:]
            reply = Reply(
                answer: Answer(status: response.status, code: response.status >= 400 ? object["code"] as? String : nil),
                body: object.compactMapValues { $0 as? String ?? ($0 as? NSNumber).map { $0.int64Value } },
                retryAfter: response.retryAfter.flatMap(Double.init))
        } catch {
            wire.answered = clock.now
            reply = Reply(answer: .failed(Self.reason(error)), body: [:], retryAfter: nil)
        }
        recorder.answered(endpoint, reply.answer, scheduled: scheduled, sent: wire.sent, now: wire.answered)
        return reply
    }

    /// This client, sending as the shopper `shopperID` from an address of its own (in 10.0.0.0/8,
    /// from a hash of the id, so a replay keeps it).
    func from(shopper shopperID: String) -> ServiceClient {
        var hash: UInt32 = 2_166_136_261
        for byte in shopperID.utf8 { hash = (hash ^ UInt32(byte)) &* 16_777_619 }
        var client = self
        client.forwardedFor = "10.\(hash >> 16 & 0xFF).\(hash >> 8 & 0xFF).\(hash & 0xFF)"
        return client
    }

    /// The bounded pool every run, sweep step and calibration step sends through: at most
    /// `connections` to a target, and a connection that stays silent for `timeout` is given up.
    public static func pooledHTTPClient(connections: Int, timeout: TimeAmount) -> HTTPClient {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: connections)
        configuration.timeout = .init(connect: .seconds(5), read: timeout)
        configuration.decompression = .disabled
        return HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton, configuration: configuration)
    }

    /// A short, stable name for why no answer came, so the summary groups them.
    static func reason(_ error: any Error) -> String {
        if let error = error as? HTTPClientError {
            switch error {
            case .deadlineExceeded, .readTimeout, .connectTimeout, .getConnectionFromPoolTimeout: return "timeout"
            case .remoteConnectionClosed: return "connection closed"
            default: return "\(error)".prefix(40).description
            }
        }
        if error is IOError || "\(error)".contains("connectionRefused") { return "connection refused" }
        return String(describing: type(of: error))
    }
}
