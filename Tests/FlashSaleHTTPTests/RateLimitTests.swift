import FlashSale
import FlashSaleTestSupport
import Foundation
import RedisClient
import Testing

/// The route groups' limits against a real service and redis-server: exact counts of passes and
/// 429s, the headers a client reads, one budget for several instances, and refusals answered
/// from memory without Redis.
@Suite struct RateLimitTests {
    /// Five checkout tokens at once per shopper, then one a minute.
    static let tokenBucket = RateLimitPolicy(groups: [
        .checkoutTokens: [
            RateLimit(name: "tokens-shopper", scope: .shopper, algorithm: .tokenBucket, quota: 1, windowSeconds: 60, burst: 5)
        ]
    ])

    func mint(_ harness: PurchaseHarness, shopper: String, instance: Int = 0, headers: [(String, String)] = []) async throws
        -> PurchaseHarness.Reply
    {
        try await harness.request(
            .POST, "/v1/sales/\(harness.sale.id)/checkout-tokens", shopper: shopper, headers: headers, instance: instance)
    }

    @Test func aBurstBeyondTheBucketGetsExactlyItsSizeAndThe429sCarryTheHeaders() async throws {
        try await PurchaseHarness.run(TestSale(stock: 5), rateLimits: Self.tokenBucket) { harness in
            let replies = try await withThrowingTaskGroup(of: PurchaseHarness.Reply.self) { group in
                for _ in 0..<12 { group.addTask { try await mint(harness, shopper: "alice") } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(replies.filter { $0.status == 201 }.count == 5)
            let refused = replies.filter { $0.status == 429 }
            #expect(refused.count == 7)
            for reply in refused {
                #expect(reply.code == "rate_limited")
                #expect(reply.headers.first(name: "Content-Type") == "application/problem+json")
                let retryAfter = try #require(reply.headers.first(name: "Retry-After").flatMap(Int.init))
                #expect((1...60).contains(retryAfter))
                #expect(reply.headers.first(name: "RateLimit-Policy") == #""tokens-shopper";q=1;w=60"#)
                let limit = try #require(reply.headers.first(name: "RateLimit"))
                #expect(limit.hasPrefix(#""tokens-shopper";r=0;t="#))
            }
            // Passing answers say how many are left.
            let left = replies.filter { $0.status == 201 }.compactMap { $0.headers.first(name: "RateLimit") }.sorted()
            #expect(left.map { $0.split(separator: ";")[1] } == ["r=0", "r=1", "r=2", "r=3", "r=4"])
            // Another shopper has a budget of its own.
            #expect(try await mint(harness, shopper: "bob").status == 201)
        }
    }

    @Test func twoInstancesShareOneBudget() async throws {
        try await PurchaseHarness.run(TestSale(stock: 5), rateLimits: Self.tokenBucket, instances: 2) { harness in
            var statuses: [Int] = []
            for attempt in 0..<8 {
                statuses.append(try await mint(harness, shopper: "carol", instance: attempt % 2).status)
            }
            #expect(statuses == [201, 201, 201, 201, 201, 429, 429, 429])
        }
    }

    @Test func refusalsAreAnsweredFromMemoryWithoutRedis() async throws {
        try await PurchaseHarness.run(TestSale(stock: 5), rateLimits: Self.tokenBucket) { harness in
            for _ in 0..<6 { _ = try await mint(harness, shopper: "dave") }
            let before = try await RedisCommandStats.scriptRuns(harness.redis)
            for _ in 0..<50 {
                #expect(try await mint(harness, shopper: "dave").status == 429)
            }
            #expect(try await RedisCommandStats.scriptRuns(harness.redis) == before)
        }
    }

    @Test func refusalsFromMemoryKeepTheirHeadersAndAreCounted() async throws {
        // A limit of its own, so that no other test moves its counter.
        let policy = RateLimitPolicy(groups: [
            .checkoutTokens: [
                RateLimit(name: "tokens-counted", scope: .shopper, algorithm: .tokenBucket, quota: 1, windowSeconds: 60, burst: 1)
            ]
        ])
        try await PurchaseHarness.run(TestSale(stock: 5), rateLimits: policy) { harness in
            func refusals() async throws -> Int {
                let text = try await harness.request(.GET, "/metrics").text
                let line = text.split(separator: "\n").first {
                    $0.hasPrefix("flashsale_rate_limited_total") && $0.contains(#"limit="tokens-counted""#)
                        && $0.contains(#"blocked="false""#)
                }
                return line.flatMap { $0.split(separator: " ").last }.flatMap { Int($0) } ?? 0
            }
            #expect(try await mint(harness, shopper: "erin").status == 201)
            let before = try await refusals()
            for _ in 0..<30 {
                let reply = try await mint(harness, shopper: "erin")
                #expect(reply.status == 429)
                #expect(reply.code == "rate_limited")
                let retryAfter = try #require(reply.headers.first(name: "Retry-After").flatMap(Int.init))
                #expect((1...60).contains(retryAfter))
                #expect(reply.headers.first(name: "RateLimit-Policy") == #""tokens-counted";q=1;w=60"#)
                #expect(reply.headers.first(name: "RateLimit") == #""tokens-counted";r=0;t=\#(retryAfter)"#)
            }
            #expect(try await refusals() == before + 30)
        }
    }

    @Test func clientAddressesComeFromTrustedProxiesOnly() async throws {
        let policy = RateLimitPolicy(groups: [
            .browse: [RateLimit(name: "browse-ip", scope: .clientIP, algorithm: .gcra, quota: 1, windowSeconds: 60, burst: 2)]
        ])
        let viaProxy = try TrustedProxies(parsing: "127.0.0.0/8")
        try await PurchaseHarness.run(TestSale(stock: 5), rateLimits: policy, trustedProxies: viaProxy) { harness in
            func browse(from address: String) async throws -> Int {
                try await harness.request(
                    .GET, "/v1/sales/\(harness.sale.id)", headers: [("X-Forwarded-For", "\(address), 127.0.0.1")]
                ).status
            }
            var statuses: [Int] = []
            for _ in 0..<3 { statuses.append(try await browse(from: "10.0.0.1")) }
            #expect(statuses == [200, 200, 429])
            let other = try await browse(from: "10.0.0.2")
            #expect(other == 200)
        }
        // Without a trusted proxy, X-Forwarded-For is the client's own claim: the peer counts.
        try await PurchaseHarness.run(TestSale(stock: 5), rateLimits: policy) { harness in
            var statuses: [Int] = []
            for address in ["10.0.0.1", "10.0.0.2", "10.0.0.3"] {
                statuses.append(
                    try await harness.request(.GET, "/v1/sales/\(harness.sale.id)", headers: [("X-Forwarded-For", address)])
                        .status)
            }
            #expect(statuses == [200, 200, 429])
        }
    }

    @Test func aClientBlockedOnOneInstanceIsBlockedOnTheOtherOnEveryRouteAndAnAllowListedOneNever() async throws {
        let perAddress = { (name: String) in
            RateLimit(name: name, scope: .clientIP, algorithm: .tokenBucket, quota: 2, windowSeconds: 1, burst: 2)
        }
        let policy = RateLimitPolicy(
            groups: [.browse: [perAddress("browse-ip")], .checkoutTokens: [perAddress("tokens-ip")]],
            blocking: .init(strikes: 3, withinSeconds: 10, blockSeconds: 60))
        try await PurchaseHarness.run(
            TestSale(stock: 5), rateLimits: policy, trustedProxies: try TrustedProxies(parsing: "127.0.0.1"),
            rateLimitAllowList: try IPRanges(parsing: "10.8.0.0/16"), instances: 2
        ) { harness in
            func browse(from address: String, instance: Int) async throws -> PurchaseHarness.Reply {
                try await harness.request(
                    .GET, "/v1/sales/\(harness.sale.id)", headers: [("X-Forwarded-For", address)], instance: instance)
            }
            // A bot hammers instance 0: refused, then answered from memory, its strikes reported in batches.
            var last: PurchaseHarness.Reply?
            for _ in 0..<12 { last = try await browse(from: "10.9.9.9", instance: 0) }
            #expect(last?.status == 429)
            #expect(last?.json["detail"].map { "\($0)".contains("blocked for") } == true)
            // Instance 1 has not seen it, and refuses it on a route group of its own.
            let elsewhere = try await browse(from: "10.9.9.9", instance: 1)
            #expect(elsewhere.status == 429)
            #expect(elsewhere.json["detail"].map { "\($0)".contains("blocked for") } == true)
            let retryAfter = try #require(elsewhere.headers.first(name: "Retry-After").flatMap(Int.init))
            #expect((50...60).contains(retryAfter))
            let minting = try await mint(harness, shopper: "erin", instance: 1, headers: [("X-Forwarded-For", "10.9.9.9")])
            #expect(minting.status == 429)
            #expect(try await browse(from: "10.9.9.10", instance: 1).status == 200)
            let blocks = try await ClientBlocks(redis: harness.redis).list()
            #expect(blocks.map(\.subject) == ["client_ip:10.9.9.9"])
            // An internal caller is never held.
            var statuses = Set<Int>()
            for _ in 0..<20 { statuses.insert(try await browse(from: "10.8.1.1", instance: 0).status) }
            #expect(statuses == [200])
        }
    }
}
