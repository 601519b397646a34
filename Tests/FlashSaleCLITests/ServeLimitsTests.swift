import FlashSale
import FlashSaleHTTP
import FlashSaleTestSupport
import Foundation
import Testing

/// `flashsale serve`'s limits on slow clients and on its own shutdown, as an operator sets them.
@Suite(.serialized) struct ServeLimitsTests {
    static let secret = "limits-test-secret-0123456789-0123456789"

    @Test(arguments: [
        ("HTTP_IDLE_TIMEOUT", "soon"),
        ("HTTP_IDLE_TIMEOUT", "0"),
        ("HTTP_REQUEST_READ_TIMEOUT", "-5s"),
        ("HTTP_REQUEST_READ_TIMEOUT", "2h"),
        ("HTTP_MAX_CONNECTIONS", "0"),
        ("HTTP_MAX_CONNECTIONS", "many"),
        ("SHUTDOWN_TIMEOUT", "1y"),
    ])
    func aBadLimitStopsServeWithOneLine(_ setting: String, _ value: String) async throws {
        let outcome = try await FlashsaleBinary.run(["serve"], environment: ["JWT_SECRET": Self.secret, setting: value])
        #expect(outcome.status == 2)
        let lines = outcome.errors.split(separator: "\n")
        #expect(lines.count == 1, "\(outcome.errors)")
        #expect(lines.first?.hasPrefix("flashsale: configuration error: \(setting): '\(value)'") == true, "\(outcome.errors)")
    }

    @Test func aLimitsFlagOverridesTheEnvironment() async throws {
        let outcome = try await FlashsaleBinary.run(
            ["serve", "--max-connections", "none"], environment: ["JWT_SECRET": Self.secret, "HTTP_MAX_CONNECTIONS": "10"])
        #expect(outcome.status == 2)
        #expect(outcome.errors.contains("HTTP_MAX_CONNECTIONS: 'none'"), "\(outcome.errors)")
    }

    @Test func theLimitsAreInServesHelp() async throws {
        let help = try await FlashsaleBinary.run(["serve", "--help"])
        for name in ["HTTP_IDLE_TIMEOUT", "HTTP_REQUEST_READ_TIMEOUT", "HTTP_MAX_CONNECTIONS", "SHUTDOWN_TIMEOUT"] {
            #expect(help.output.contains(name), "\(name) in: \(help.output)")
        }
    }

    /// SIGTERM while a purchase is being sent: the server stops listening but waits for it, and the
    /// shopper gets the order.
    @Test func aPurchaseInFlightAtSIGTERMFinishes() async throws {
        try await Self.serving(shutdownTimeout: "60s") { service, port, purchase in
            let connection = try await RawConnection.open(port: port)
            defer { connection.close() }
            let (head, body) = purchase
            await connection.send(head + String(body.prefix(10)))
            kill(service.processIdentifier, SIGTERM)
            try await Task.sleep(for: .seconds(1))
            #expect(service.isRunning, "the service waits for the request in flight")
            #expect((try? await RawConnection.open(port: port)) == nil, "no new connections once shutting down")
            await connection.send(String(body.dropFirst(10)))
            let response = await connection.response(within: 30)
            #expect(response?.status == 201, "\(String(describing: response))")
            #expect(await Self.exits(service, within: 30), "the service exits once the request is answered")
            if !service.isRunning { #expect(service.terminationStatus == 0) }
        }
    }

    /// SIGTERM while a request is held open past SHUTDOWN_TIMEOUT: its connection is cut and the
    /// process exits anyway.
    @Test func aRequestHeldPastTheShutdownTimeoutIsCutAndTheServiceExits() async throws {
        try await Self.serving(shutdownTimeout: "2s") { service, port, purchase in
            let connection = try await RawConnection.open(port: port)
            defer { connection.close() }
            let (head, body) = purchase
            await connection.send(head + String(body.prefix(10)))
            try await Task.sleep(for: .milliseconds(300))
            kill(service.processIdentifier, SIGTERM)
            #expect(await Self.exits(service, within: 60), "the service exits though the request never ends")
            #expect(await connection.closes(within: 5), "the held connection was cut")
            #expect(await connection.response(within: 0.1) == nil)
        }
    }

    static func exits(_ process: Process, within seconds: Double) async -> Bool {
        let deadline = ContinuousClock.now + .milliseconds(Int64(seconds * 1000))
        while process.isRunning && ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(20)) }
        return !process.isRunning
    }

    /// Runs `flashsale serve` on a fresh database with a sale, a read deadline longer than any test
    /// and the given shutdown timeout; `body` gets the process, its port, and a purchase of that
    /// sale's item as its head and body (a fresh checkout token, ready to send).
    static func serving(
        shutdownTimeout: String,
        _ body: @escaping @Sendable (Process, Int, (head: String, body: String)) async throws -> Void
    ) async throws {
        try await OperatorStores.with { stores in
            let sale = TestSale(stock: 5)
            try await sale.create(postgres: stores.postgres, redis: stores.redis)
            let port = freeLocalPort()
            var environment = stores.environment
            environment["JWT_SECRET"] = secret
            environment["HTTP_PORT"] = "\(port)"
            environment["SHUTDOWN_TIMEOUT"] = shutdownTimeout
            environment["HTTP_REQUEST_READ_TIMEOUT"] = "10m"
            let (service, _, errors) = try FlashsaleBinary.start(["serve"], environment: environment)
            defer { if service.isRunning { kill(service.processIdentifier, SIGKILL) } }
            let log = Task.detached { errors.fileHandleForReading.readDataToEndOfFile() }

            let bearer = try await ShopperTokens(secret: secret).issue(
                shopperID: "shopper", email: "shopper@example.com", lifetime: .seconds(3600))
            let token = try await eventually { () async throws -> String in
                let connection = try await RawConnection.open(port: port)
                defer { connection.close() }
                await connection.send(
                    "POST /v1/sales/\(sale.id)/checkout-tokens HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer \(bearer)\r\nContent-Length: 0\r\n\r\n"
                )
                guard let response = await connection.response(), response.status == 201,
                    let json = try JSONSerialization.jsonObject(with: Data(response.body.utf8)) as? [String: Any],
                    let token = json["token"] as? String
                else { throw CheckoutTokenUnavailable() }
                return token
            }
            let purchase = #"{"sku":"\#(sale.sku)","quantity":1}"#
            let head = """
                POST /v1/sales/\(sale.id)/orders HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer \(bearer)\r\n\
                Idempotency-Key: \(token)\r\nContent-Type: application/json\r\n\
                Content-Length: \(purchase.utf8.count)\r\n\r\n
                """
            do {
                try await body(service, port, (head, purchase))
            } catch {
                if service.isRunning { kill(service.processIdentifier, SIGKILL) }
                Issue.record("serve's log: \(String(decoding: await log.value, as: UTF8.self))")
                throw error
            }
            if service.isRunning { kill(service.processIdentifier, SIGKILL) }
            _ = await log.value
        }
    }

    struct CheckoutTokenUnavailable: Error {}
}
