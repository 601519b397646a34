import AsyncHTTPClient
import FlashSaleEmail
import FlashSaleTestSupport
import Foundation
import NIOHTTP1
import Testing

@Suite struct HTTPEmailSenderTests {
    static let secret = "provider-secret-that-is-32-bytes-long"
    static let message = EmailMessage(
        idempotencyKey: "order-42:order_paid", orderID: "order-42", event: "order_paid", to: "alice@example.com",
        subject: "Your order is paid", text: "Thank you.\nOrder order-42 is paid.")

    /// Runs `body` with a started provider and an HTTP client, both shut down afterwards.
    func withProvider(
        script: [LocalEmailProvider.Reply] = [], then fallback: LocalEmailProvider.Reply = .ok,
        requestTimeout: Duration = .seconds(5),
        _ body: (HTTPEmailSender, LocalEmailProvider) async throws -> Void
    ) async throws {
        let provider = LocalEmailProvider(script: script, then: fallback)
        try await provider.start()
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: HTTPEmailSender.clientConfiguration())
        let sender = HTTPEmailSender(
            url: provider.url, signingSecret: Self.secret, client: client, requestTimeout: requestTimeout)
        do {
            try await body(sender, provider)
        } catch {
            await provider.stop()
            try await client.shutdown()
            throw error
        }
        await provider.stop()
        try await client.shutdown()
    }

    @Test func aFailedAttemptIsRetriedWithTheSameKeyAndBothAreSigned() async throws {
        try await withProvider(script: [.status(500, body: "internal error")]) { sender, provider in
            await #expect(throws: EmailDeliveryError.retryable("provider answered 500 Internal Server Error", retryAfter: nil)) {
                try await sender.send(Self.message)
            }
            try await sender.send(Self.message)  // the worker's retry

            let receipts = provider.receipts
            #expect(receipts.count == 2)
            let verifier = EmailSignature(secret: Self.secret)
            for receipt in receipts {
                #expect(receipt.method == .POST)
                #expect(receipt.headers.first(name: "Content-Type") == "application/json")
                #expect(receipt.headers.first(name: "Idempotency-Key") == "order-42:order_paid")
                let header = try #require(receipt.headers.first(name: "FlashSale-Signature"))
                try verifier.verify(header: header, body: receipt.body)
                let json = try #require(try JSONSerialization.jsonObject(with: Data(receipt.body)) as? [String: String])
                #expect(
                    json == [
                        "idempotency_key": "order-42:order_paid", "order_id": "order-42", "event": "order_paid",
                        "to": "alice@example.com", "subject": "Your order is paid", "text": "Thank you.\nOrder order-42 is paid.",
                    ])
            }
            #expect(receipts[0].body == receipts[1].body)
        }
    }

    @Test func aClientErrorIsPermanentWithStatusAndExcerpt() async throws {
        try await withProvider(then: .status(400, body: #"{"error":"invalid recipient"}"#)) { sender, _ in
            await #expect(
                throws: EmailDeliveryError.permanent(#"provider answered 400 Bad Request: {"error":"invalid recipient"}"#)
            ) {
                try await sender.send(Self.message)
            }
        }
    }

    @Test func tooManyRequestsHonoursRetryAfter() async throws {
        try await withProvider(script: [
            .status(429, headers: [("Retry-After", "3")]), .status(503, headers: [("Retry-After", "7")]),
        ]) {
            sender, _ in
            await #expect(
                throws: EmailDeliveryError.retryable("provider answered 429 Too Many Requests", retryAfter: .seconds(3))
            ) {
                try await sender.send(Self.message)
            }
            await #expect(
                throws: EmailDeliveryError.retryable("provider answered 503 Service Unavailable", retryAfter: .seconds(7))
            ) {
                try await sender.send(Self.message)
            }
        }
    }

    @Test func retryAfterAsAnHTTPDate() async throws {
        let inTenSeconds = Date().addingTimeInterval(10)
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        try await withProvider(then: .status(429, headers: [("Retry-After", formatter.string(from: inTenSeconds))])) {
            sender, _ in
            do {
                try await sender.send(Self.message)
                Issue.record("a 429 was taken as delivered")
            } catch EmailDeliveryError.retryable(_, let retryAfter) {
                let wait = try #require(retryAfter)
                #expect(wait >= .seconds(8) && wait <= .seconds(11))
            }
        }
    }

    @Test func aHangingProviderIsRetryableAfterTheRequestTimeout() async throws {
        try await withProvider(then: .hang, requestTimeout: .milliseconds(300)) { sender, provider in
            let started = ContinuousClock.now
            do {
                try await sender.send(Self.message)
                Issue.record("a provider that never answered was taken as delivered")
            } catch EmailDeliveryError.retryable(let reason, retryAfter: nil) {
                #expect(reason.contains("timed out"))
            }
            let elapsed = ContinuousClock.now - started
            #expect(elapsed >= .milliseconds(290) && elapsed < .seconds(5))
            #expect(provider.receipts.count == 1)
        }
    }

    @Test func aRefusedConnectionIsRetryable() async throws {
        let closing = try await ClosingServer.start()
        let port = closing.port
        try await closing.stop()  // nothing listens there now
        let client = HTTPClient(
            eventLoopGroupProvider: .singleton,
            configuration: HTTPEmailSender.clientConfiguration(connectTimeout: .milliseconds(300)))
        let sender = HTTPEmailSender(url: "http://127.0.0.1:\(port)/", signingSecret: Self.secret, client: client)
        await #expect {
            try await sender.send(Self.message)
        } throws: { error in
            guard case EmailDeliveryError.retryable(let reason, nil) = error else { return false }
            return reason.hasPrefix("provider unreachable")
        }
        try await client.shutdown()
    }
}
