import Foundation
import NIOHTTP1

/// One arrival doing what its behaviour says. Arrivals are open loop (each starts on its schedule,
/// whatever the service answered others); inside one session a step that needs the previous
/// answer (the token before the order, the order before the payment) is scheduled after it.
struct ShopperSession: Sendable {
    let arrival: ArrivalPlan.Arrival
    let scenario: Scenario
    let saleID: String
    let target: String
    let client: ServiceClient
    let jwts: ShopperJWTs
    let recorder: RunRecorder
    /// The run's time zero and the sale's opening.
    let start: ContinuousClock.Instant
    let opens: ContinuousClock.Instant

    func run(seed: UInt64) async {
        var random = SplitMix64(seed: seed ^ (UInt64(arrival.index) &* 0x9E37_79B9_7F4A_7C15))
        let arrives = start + .milliseconds(Int64(arrival.offset * 1000))
        guard let jwt = try? await jwts.jwt(for: arrival.shopperID, valid: arrival.validJWT, keep: arrival.behaviour == .bot)
        else { return }
        if arrival.behaviour == .bot {
            await bot(jwt: jwt, arrives: arrives)
            return
        }
        var next = arrives
        if arrives < opens {
            // Early: look at the sale, then wait for the opening with everyone else.
            _ = await client.send(.sale, .GET, target: target, path: "/v1/sales/\(saleID)", jwt: jwt, scheduled: next)
            next = Self.after(.now, seconds: Double.random(in: 0.2...1, using: &random))
            _ = await client.send(.item, .GET, target: target, path: itemPath, jwt: jwt, scheduled: next)
            next = Self.after(max(opens, .now), seconds: Double.random(in: 0...1.5, using: &random))
        } else {
            _ = await client.send(.item, .GET, target: target, path: itemPath, jwt: jwt, scheduled: next)
            next = Self.after(.now, seconds: Double.random(in: 0.1...0.6, using: &random))
        }
        if arrival.behaviour == .refresh {
            for _ in 0..<4 {
                _ = await client.send(.item, .GET, target: target, path: itemPath, jwt: jwt, scheduled: next)
                next = Self.after(next, seconds: 1)
            }
        }
        guard let order = await purchase(jwt: jwt, from: next) else { return }
        let later = Self.after(.now, seconds: Double.random(in: 0.5...2, using: &random))
        switch arrival.behaviour {
        case .abandon: return
        case .cancel:
            _ = await client.send(.cancel, .POST, target: target, path: "/v1/orders/\(order)/cancel", jwt: jwt, scheduled: later)
        default:
            _ = await client.send(
                .pay, .POST, target: target, path: "/v1/orders/\(order)/pay", jwt: jwt, idempotencyKey: "pay-\(order)",
                json: #"{"payment_method":"pm_card_ok"}"#, scheduled: later)
        }
    }

    private var itemPath: String { "/v1/sales/\(saleID)/items/\(arrival.sku)" }
    private var ordersPath: String { "/v1/sales/\(saleID)/orders" }
    private var orderJSON: String { #"{"sku":"\#(arrival.sku)","quantity":1}"# }

    /// A checkout token, then the order; the order's id on a 201. Only `retry` shoppers come back
    /// after a 429 or 503 (or an answer that never came), waiting as `Retry-After` says.
    private func purchase(jwt: String, from first: ContinuousClock.Instant) async -> String? {
        let attempts = arrival.behaviour == .retry ? 4 : 1
        var next = first
        var token: String?
        for attempt in 1...attempts {
            let reply = await client.send(
                .checkoutToken, .POST, target: target, path: "/v1/sales/\(saleID)/checkout-tokens", jwt: jwt, scheduled: next)
            if reply.answer.status == 201, let minted = reply.string("token") {
                token = minted
                break
            }
            guard attempt < attempts, Self.isRetryable(reply.answer) else { return nil }
            next = Self.after(.now, seconds: reply.retryAfter ?? 1)
        }
        guard let token else { return nil }
        next = .now
        for attempt in 1...attempts {
            let replies: [ServiceClient.Reply]
            if arrival.behaviour == .doubleSubmit {
                // Both leave at the same scheduled instant, on two connections: a double click.
                let scheduled = next
                async let first = order(jwt: jwt, token: token, scheduled: scheduled)
                async let second = order(jwt: jwt, token: token, scheduled: scheduled)
                replies = await [first, second]
            } else {
                replies = [await order(jwt: jwt, token: token, scheduled: next)]
            }
            if let created = replies.compactMap({ $0.answer.status == 201 ? $0.string("order_id") : nil }).first {
                return created
            }
            guard attempt < attempts, let retryable = replies.first(where: { Self.isRetryable($0.answer) }) else { return nil }
            next = Self.after(.now, seconds: retryable.retryAfter ?? 1)
        }
        return nil
    }

    private func order(jwt: String, token: String, scheduled: ContinuousClock.Instant) async -> ServiceClient.Reply {
        let reply = await client.send(
            .order, .POST, target: target, path: ordersPath, jwt: jwt, idempotencyKey: token, json: orderJSON,
            scheduled: scheduled)
        if reply.answer.status == 201, let id = reply.string("order_id") {
            recorder.created(
                CreatedOrder(orderID: id, checkoutToken: token, shopperID: arrival.shopperID, sku: arrival.sku, quantity: 1))
        } else if reply.answer.isLost {
            recorder.lost(LostAnswer(checkoutToken: token, shopperID: arrival.shopperID, reason: reply.answer.error ?? "lost"))
        }
        return reply
    }

    /// A burst of purchase attempts, each on its own schedule whatever the previous one got.
    private func bot(jwt: String, arrives: ContinuousClock.Instant) async {
        let interval = scenario.bots.intervalMilliseconds
        await withDiscardingTaskGroup { group in
            for attempt in 0..<scenario.bots.attemptsPerArrival {
                let scheduled = arrives + .microseconds(Int64(Double(attempt) * interval * 1000))
                group.addTask {
                    guard arrival.validJWT else {
                        // No token can be had without a valid JWT: straight at the order endpoint.
                        _ = await order(jwt: jwt, token: "forged-\(arrival.index)-\(attempt)", scheduled: scheduled)
                        return
                    }
                    let reply = await client.send(
                        .checkoutToken, .POST, target: target, path: "/v1/sales/\(saleID)/checkout-tokens", jwt: jwt,
                        scheduled: scheduled)
                    guard reply.answer.status == 201, let token = reply.string("token") else { return }
                    _ = await order(jwt: jwt, token: token, scheduled: .now)
                }
            }
        }
    }

    static func isRetryable(_ answer: Answer) -> Bool {
        answer.status == 429 || answer.status == 503 || answer.isLost
    }

    static func after(_ instant: ContinuousClock.Instant, seconds: Double) -> ContinuousClock.Instant {
        instant + .microseconds(Int64(seconds * 1_000_000))
    }
}

extension ContinuousClock.Instant {
    static var now: ContinuousClock.Instant { ContinuousClock.now }
}
