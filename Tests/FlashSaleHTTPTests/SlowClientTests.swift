import AsyncHTTPClient
import FlashSale
import FlashSaleHTTP
import FlashSaleTestSupport
import Foundation
import NIOCore
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Slow and idle clients against the service's own server, over real TCP connections: the read
/// deadline, the idle timeout and the connection cap (HTTPConnectionLimits).
@Suite(.serialized) struct SlowClientTests {
    /// Far beyond any test's length, for the limits a test does not exercise.
    static let never = Duration.seconds(600)

    @Test func twoThousandSlowlorisConnectionsDoNotStopABuyer() async throws {
        let slow = 2_000
        try Self.allowOpenFiles(2 * slow + 1_000)
        let limits = HTTPConnectionLimits(idleTimeout: Self.never, requestReadTimeout: .seconds(3))
        try await PurchaseHarness.run(TestSale(stock: 10), limits: limits) { harness in
            let port = harness.port
            // Opened a hundred at a time: the listen backlog is 256.
            var connections: [RawConnection] = []
            for start in stride(from: 0, to: slow, by: 100) {
                try await withThrowingTaskGroup(of: RawConnection.self) { group in
                    for _ in start..<min(start + 100, slow) { group.addTask { try await RawConnection.open(port: port) } }
                    for try await connection in group { connections.append(connection) }
                }
            }
            // One header byte a second from each, for as long as the test runs.
            let head = Array("GET /v1/sales HTTP/1.1\r\nHost: slowloris\r\nX-Padding: " + String(repeating: "a", count: 200))
            let slowConnections = connections
            let trickle = Task {
                var sent = 0
                while !Task.isCancelled && sent < head.count {
                    for connection in slowConnections where connection.isOpen {
                        connection.channel.writeAndFlush(ByteBuffer(string: String(head[sent])), promise: nil)
                    }
                    sent += 1
                    try? await Task.sleep(for: .seconds(1))
                }
            }
            defer { trickle.cancel() }
            try await Task.sleep(for: .seconds(1))
            #expect(connections.filter(\.isOpen).count == slow, "every slow connection was accepted and is reading")

            let token = try await harness.checkoutToken(for: "buyer")
            let bought = try await harness.order(shopper: "buyer", token: token)
            #expect(bought.status == 201, "\(bought.text)")

            // The deadline frees every slow connection's socket, though each kept sending.
            var stillOpen = slow
            for _ in 0..<150 where stillOpen > 0 {
                try await Task.sleep(for: .milliseconds(200))
                stillOpen = connections.filter(\.isOpen).count
            }
            #expect(stillOpen == 0, "\(stillOpen) slow connections outlived the request read deadline")
            // And a buyer who comes after them is served too.
            let late = try await harness.order(shopper: "late-buyer", token: try await harness.checkoutToken(for: "late-buyer"))
            #expect(late.status == 201, "\(late.text)")
        }
    }

    /// Half a head, then a byte at a time: bytes keep coming, so only a deadline can end it.
    @Test func aHeadStillArrivingAtTheReadDeadlineIsClosed() async throws {
        try await Self.trickling(
            start: { _ in "GET /healthz HTTP/1.1\r\nHost: a\r\n" }, then: "X-Slow: 123456789012345678901234567890")
    }

    /// A purchase's whole head, then a body that trickles: the route waits for it in vain, and
    /// nothing is reserved.
    @Test func aBodyStillArrivingAtTheReadDeadlineIsClosed() async throws {
        let body = #"{"sku":"hot-sku","quantity":1,"padding":"0123456789012345678901234567890123456789"}"#
        try await Self.trickling(
            start: { harness in
                """
                POST /v1/sales/\(harness.sale.id)/orders HTTP/1.1\r\nHost: a\r\n\
                Authorization: Bearer \(try await harness.bearer("slow"))\r\n\
                Idempotency-Key: \(try await harness.checkoutToken(for: "slow"))\r\n\
                Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n
                """
            }, then: body)
    }

    /// Sends `start`, then `trickle` a byte every 250 ms, and expects the server to hang up, unanswered,
    /// long before the trickle could end (with a read deadline of 1 s and no idle timeout to speak of).
    static func trickling(start: @escaping @Sendable (PurchaseHarness) async throws -> String, then trickle: String)
        async throws
    {
        let limits = HTTPConnectionLimits(idleTimeout: Self.never, requestReadTimeout: .seconds(1))
        try await PurchaseHarness.run(TestSale(stock: 1), limits: limits) { harness in
            let head = try await start(harness)
            let connection = try await RawConnection.open(port: harness.port)
            defer { connection.close() }
            await connection.send(head)
            for character in trickle where connection.isOpen {
                await connection.send(String(character))
                try await Task.sleep(for: .milliseconds(250))
            }
            #expect(await connection.closes(within: 15), "the server closed the slow request's connection")
            #expect(await connection.response(within: 0.1) == nil, "closed without an answer")
            #expect(try await harness.redisStock() == 1, "nothing was reserved")
        }
    }

    /// The deadline runs from a request's first byte: a keep-alive connection that waited longer
    /// than it between requests is still served (the wait is the idle timeout's business).
    @Test func theReadDeadlineDoesNotCountTheWaitBetweenRequests() async throws {
        let limits = HTTPConnectionLimits(idleTimeout: Self.never, requestReadTimeout: .seconds(1))
        try await PurchaseHarness.run(TestSale(stock: 1), limits: limits) { harness in
            let connection = try await RawConnection.open(port: harness.port)
            defer { connection.close() }
            await connection.send("GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n")
            #expect(await connection.response()?.status == 200)
            try await Task.sleep(for: .seconds(3))
            #expect(connection.isOpen)
            await connection.send("GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n")
            #expect(await connection.response()?.status == 200)
        }
    }

    @Test func anIdleConnectionIsClosedAfterTheIdleTimeout() async throws {
        let limits = HTTPConnectionLimits(idleTimeout: .seconds(1), requestReadTimeout: Self.never)
        try await PurchaseHarness.run(TestSale(stock: 1), limits: limits) { harness in
            // Kept alive after a request, then silent.
            let used = try await RawConnection.open(port: harness.port)
            defer { used.close() }
            await used.send("GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n")
            #expect(await used.response()?.status == 200)
            // Silent from the start.
            let silent = try await RawConnection.open(port: harness.port)
            defer { silent.close() }
            #expect(await used.closes(within: 15), "the idle keep-alive connection was closed")
            #expect(await silent.closes(within: 15), "the connection that never sent a byte was closed")
        }
    }

    @Test func connectionsOverTheCapAreClosedAtOnceAndTheOthersKeepWorking() async throws {
        // Room for three, besides the connection Hummingbird's live test client holds open.
        let limits = HTTPConnectionLimits(idleTimeout: Self.never, requestReadTimeout: Self.never, maximumConnections: 4)
        try await PurchaseHarness.run(TestSale(stock: 1), limits: limits) { harness in
            let refusedBefore = try await Self.refusedConnections(port: harness.port)
            var admitted: [RawConnection] = []
            for _ in 0..<3 {
                let connection = try await RawConnection.open(port: harness.port)
                await connection.send("GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n")
                #expect(await connection.response()?.status == 200)
                admitted.append(connection)
            }
            let extra = try await RawConnection.open(port: harness.port)
            #expect(await extra.closes(within: 15), "the fourth connection was closed")
            for connection in admitted {
                await connection.send("GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n")
                #expect(await connection.response()?.status == 200, "an admitted connection still works")
            }
            // A closed connection frees its place.
            admitted[0].close()
            let next = try await eventually { () async throws -> RawConnection in
                let connection = try await RawConnection.open(port: harness.port)
                await connection.send("GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n")
                guard let response = await connection.response(), response.status == 200 else {
                    throw HarnessError.unexpected("refused")
                }
                let refused = Self.counter("flashsale_http_connections_refused_total", in: response.body)
                #expect(refused > refusedBefore, "refusals are counted")
                return connection
            }
            next.close()
            for connection in admitted { connection.close() }
        }
    }

    /// Read over a connection of its own that is closed when the server has answered, so it takes
    /// none of the places the test counts on (the harness' HTTP client keeps its connections open).
    static func refusedConnections(port: Int) async throws -> Double {
        let connection = try await RawConnection.open(port: port)
        await connection.send("GET /metrics HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        let body = await connection.response()?.body ?? ""
        _ = await connection.closes(within: 15)
        // The server counts the connection closed a moment after the client sees it close.
        try await Task.sleep(for: .milliseconds(200))
        return counter("flashsale_http_connections_refused_total", in: body)
    }

    static func counter(_ name: String, in metrics: String) -> Double {
        metrics.split(separator: "\n").first { $0.hasPrefix(name + " ") }.flatMap { Double($0.split(separator: " ")[1]) } ?? 0
    }

    /// Raises this process's open-file limit to `count` if it is lower (both ends of every test
    /// connection are in this process); fails the test if the hard limit does not allow it.
    static func allowOpenFiles(_ count: Int) throws {
        var limit = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return }
        guard limit.rlim_cur < rlim_t(count) else { return }
        try #require(limit.rlim_max >= rlim_t(count), "ulimit -Hn is \(limit.rlim_max); the test needs \(count) files")
        limit.rlim_cur = rlim_t(count)
        setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
    }
}

extension PurchaseHarness {
    var port: Int { Int(baseURL.split(separator: ":").last!)! }
}
