import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// Delivers e-mails through a transactional-mail provider's HTTP API: one signed JSON POST per message.
///
/// The `HTTPClient` is passed in so the caller owns its lifecycle (one client per process, shut
/// down at exit); build it with ``clientConfiguration(connectTimeout:)`` so connects are bounded
/// and redirects are not followed (a redirected POST would be re-sent somewhere we did not sign for).
///
/// Answers map onto ``EmailDeliveryError`` so the worker knows what to do with the job:
/// - 2xx: delivered;
/// - 429, and 5xx: `.retryable`, with the provider's `Retry-After` when it sent one;
/// - any other status: `.permanent`, with the status and the start of the body (the provider said
///   this message is wrong, so sending it again cannot help);
/// - timeouts and connection errors: `.retryable` (whether the provider got it is unknown, and the
///   `Idempotency-Key` makes a second delivery harmless).
public struct HTTPEmailSender: EmailSender {
    public static let defaultConnectTimeout: Duration = .seconds(2)
    public static let defaultRequestTimeout: Duration = .seconds(10)

    public let url: String
    /// The whole exchange, from the moment the request is queued until the answer's body is read.
    public let requestTimeout: Duration
    private let client: HTTPClient
    private let signature: EmailSignature
    private let now: @Sendable () -> Date

    /// - Parameters:
    ///   - url: the provider's endpoint (`EMAIL_PROVIDER_URL`), http or https.
    ///   - signingSecret: `EMAIL_SIGNING_SECRET`, shared with the provider.
    ///   - now: the clock for the signature's timestamp; tests may pin it.
    public init(
        url: String, signingSecret: String, client: HTTPClient, requestTimeout: Duration = defaultRequestTimeout,
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.url = url
        self.client = client
        self.requestTimeout = requestTimeout
        self.signature = EmailSignature(secret: signingSecret)
        self.now = now
    }

    /// The client settings this sender expects: a bounded connect, no redirects, and enough
    /// connections for a full burst of permits to go out at once (AsyncHTTPClient's default of 8
    /// per host would queue a burst of 50, and the provider would see it arrive spread out).
    public static func clientConfiguration(
        connectTimeout: Duration = defaultConnectTimeout, maximumConnections: Int = 64
    ) -> HTTPClient.Configuration {
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .disallow, timeout: .init(connect: TimeAmount(connectTimeout)),
            connectionPool: .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: maximumConnections))
        configuration.decompression = .disabled
        return configuration
    }

    /// The JSON the provider receives; field names are the provider contract's.
    struct Payload: Encodable {
        let idempotency_key: String
        let order_id: String
        let event: String
        let to: String
        let subject: String
        let text: String
    }

    static func body(of message: EmailMessage) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let payload = Payload(
            idempotency_key: message.idempotencyKey, order_id: message.orderID, event: message.event, to: message.to,
            subject: message.subject, text: message.text)
        return Array(try encoder.encode(payload))
    }

    public func send(_ message: EmailMessage) async throws {
        let body = try Self.body(of: message)
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "Idempotency-Key", value: message.idempotencyKey)
        // Signed per attempt: a retry hours later carries a fresh timestamp, so it is not refused as a replay.
        let timestamp = Int64(now().timeIntervalSince1970.rounded(.down))
        request.headers.add(name: EmailSignature.headerName, value: signature.sign(body: body, timestamp: timestamp))
        request.body = .bytes(ByteBuffer(bytes: body))

        let answer: (status: HTTPResponseStatus, headers: HTTPHeaders, excerpt: String)
        do {
            answer = try await withTimeout(requestTimeout) { [client, request, requestTimeout] in
                let response = try await client.execute(request, timeout: TimeAmount(requestTimeout))
                // Read (a bounded part of) the body even on success, so the connection can be reused.
                let bytes = try await Self.prefix(of: response.body, limit: 2048)
                return (response.status, response.headers, String(decoding: bytes, as: UTF8.self))
            }
        } catch is CancellationError {
            throw CancellationError()
        } catch let error as HTTPClientError where error == .cancelled && Task.isCancelled {
            throw CancellationError()
        } catch {
            throw EmailDeliveryError.retryable("provider unreachable: \(Self.describe(error))", retryAfter: nil)
        }
        try Self.check(status: answer.status, headers: answer.headers, excerpt: answer.excerpt, now: now())
    }

    /// What the worker should make of an answer (static so the mapping is testable on its own).
    static func check(status: HTTPResponseStatus, headers: HTTPHeaders, excerpt: String, now: Date) throws {
        let code = Int(status.code)
        let retryAfter = RetryAfter.parse(headers.first(name: "Retry-After"), now: now)
        switch code {
        case 200..<300:
            return
        case 429, 500..<600:
            throw EmailDeliveryError.retryable("provider answered \(code) \(status.reasonPhrase)", retryAfter: retryAfter)
        default:
            let detail = Self.shorten(excerpt)
            throw EmailDeliveryError.permanent(
                "provider answered \(code) \(status.reasonPhrase)" + (detail.isEmpty ? "" : ": \(detail)"))
        }
    }

    /// The first `limit` bytes of a body; the rest is drained, not kept (a huge error page must not
    /// cost memory, and an unread body would keep the connection from going back to the pool).
    static func prefix(of body: HTTPClientResponse.Body, limit: Int) async throws -> [UInt8] {
        var kept: [UInt8] = []
        for try await chunk in body where kept.count < limit {
            kept.append(contentsOf: chunk.readableBytesView.prefix(limit - kept.count))
        }
        return kept
    }

    /// One line of at most 200 characters, for the job's last error.
    static func shorten(_ text: String) -> String {
        let line = text.split(whereSeparator: \.isNewline).joined(separator: " ").trimmingCharacters(in: .whitespaces)
        return line.count > 200 ? String(line.prefix(200)) + "…" : line
    }

    static func describe(_ error: any Error) -> String {
        if let error = error as? HTTPClientError {
            switch error {
            case .deadlineExceeded, .readTimeout: return "timed out"
            case .connectTimeout: return "connect timed out"
            default: break
            }
        }
        if error is RequestTimeout { return "timed out" }
        return String(describing: error)
    }
}

/// The exchange took longer than the sender's request timeout.
struct RequestTimeout: Error {}

/// Runs `operation`, cancelling it once `limit` has passed. AsyncHTTPClient's own deadline stops at
/// the response head; this bounds reading the body too.
func withTimeout<T: Sendable>(
    _ limit: Duration, _ operation: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await operation() }
        group.addTask {
            try await Task.sleep(for: limit)
            throw RequestTimeout()
        }
        defer { group.cancelAll() }
        return try await group.next()!
    }
}
