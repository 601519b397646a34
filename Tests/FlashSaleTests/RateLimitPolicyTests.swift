import FlashSale
import Foundation
import Testing

/// The rate-limit settings read at start, the client address behind proxies, and the refusals
/// remembered in process: no servers.
@Suite struct RateLimitPolicyTests {
    @Test func aFileReplacesTheGroupsItNamesAndKeepsTheOthers() throws {
        let json =
            #"{"groups": {"orders": [{"name": "orders-all", "scope": "route", "algorithm": "sliding_window", "quota": 500, "window_seconds": 1}], "browse": []}}"#
        let policy = try RateLimitPolicy.overriding(.defaults, with: Data(json.utf8))
        #expect(
            policy.limits(.orders) == [
                RateLimit(name: "orders-all", scope: .route, algorithm: .slidingWindow, quota: 500, windowSeconds: 1)
            ])
        #expect(policy.limits(.browse).isEmpty)
        #expect(policy.limits(.checkoutTokens) == RateLimitPolicy.defaults.limits(.checkoutTokens))
    }

    @Test func aFileReplacesOrEndsTheBlockingOrKeepsItWhenSilent() throws {
        let silent = try RateLimitPolicy.overriding(.defaults, with: Data(#"{"groups": {}}"#.utf8))
        #expect(silent.blocking == RateLimitPolicy.defaults.blocking)
        let ended = try RateLimitPolicy.overriding(.defaults, with: Data(#"{"blocking": null}"#.utf8))
        #expect(ended.blocking == nil)
        let replaced = try RateLimitPolicy.overriding(
            .defaults, with: Data(#"{"blocking": {"strikes": 5, "within_seconds": 2, "block_seconds": 300}}"#.utf8))
        #expect(replaced.blocking == .init(strikes: 5, withinSeconds: 2, blockSeconds: 300))
        #expect(throws: RateLimitPolicy.PolicyError.self) {
            try RateLimitPolicy.overriding(
                .defaults, with: Data(#"{"blocking": {"strikes": 0, "within_seconds": 2, "block_seconds": 300}}"#.utf8))
        }
    }

    @Test func badFilesAreNamedWithWhatIsWrong() {
        let cases: [(String, String)] = [
            ("{", "not valid JSON"),
            (
                #"{"groups": {"orders": [{"name": "x", "scope": "shopper", "algorithm": "leaky", "quota": 1, "window_seconds": 1}]}}"#,
                "groups.orders.0"
            ),
            (
                #"{"groups": {"orders": [{"name": "x", "scope": "shopper", "algorithm": "gcra", "window_seconds": 1}]}}"#,
                "missing 'quota'"
            ),
            (
                #"{"groups": {"orders": [{"name": "Bad Name", "scope": "shopper", "algorithm": "gcra", "quota": 1, "window_seconds": 1}]}}"#,
                "not a limit name"
            ),
            (
                #"{"groups": {"orders": [{"name": "x", "scope": "shopper", "algorithm": "gcra", "quota": 0, "window_seconds": 1}]}}"#,
                "quota must be at least 1"
            ),
            (
                #"{"groups": {"orders": [{"name": "x", "scope": "shopper", "algorithm": "gcra", "quota": 1, "window_seconds": 0}]}}"#,
                "window_seconds"
            ),
            (
                #"{"groups": {"orders": [{"name": "browse-ip", "scope": "shopper", "algorithm": "gcra", "quota": 1, "window_seconds": 1}]}}"#,
                "used twice"
            ),
        ]
        for (json, expected) in cases {
            #expect {
                _ = try RateLimitPolicy.overriding(.defaults, with: Data(json.utf8))
            } throws: { error in
                "\(error)".contains(expected)
            }
        }
    }

    @Test func configurationReadsTheSwitchTheFileAndTheProxies() throws {
        func configuration(_ environment: [String: String]) throws -> FlashSaleConfiguration {
            try FlashSaleConfiguration(.init(environment: environment), requireSecret: false)
        }
        #expect(try configuration([:]).rateLimits == .defaults)
        #expect(try configuration(["RATE_LIMITS": "off"]).rateLimits == .off)
        #expect(throws: ConfigurationError.self) { try configuration(["RATE_LIMITS": "sometimes"]) }
        #expect(throws: ConfigurationError.self) { try configuration(["RATE_LIMITS_FILE": "/nonexistent/limits.json"]) }
        #expect(throws: ConfigurationError.self) { try configuration(["TRUSTED_PROXIES": "10.0.0.0/33"]) }
        #expect(throws: ConfigurationError.self) { try configuration(["TRUSTED_PROXIES": "proxy.internal"]) }
        #expect(try configuration(["TRUSTED_PROXIES": "10.0.0.0/8, ::1"]).trustedProxies.contains("10.1.2.3"))
        #expect(try configuration(["RATE_LIMIT_ALLOWLIST": "192.0.2.0/24"]).rateLimitAllowList.contains("192.0.2.77"))
        #expect(throws: ConfigurationError.self) { try configuration(["RATE_LIMIT_ALLOWLIST": "everyone"]) }
        #expect(try configuration([:]).loadShedding?.maximumLimit == 4096)
        #expect(try configuration(["LOAD_SHEDDING_MAX_IN_FLIGHT": "500"]).loadShedding?.maximumLimit == 500)
        #expect(try configuration(["LOAD_SHEDDING": "off"]).loadShedding == nil)
        #expect(throws: ConfigurationError.self) { try configuration(["LOAD_SHEDDING": "maybe"]) }
        #expect(throws: ConfigurationError.self) { try configuration(["LOAD_SHEDDING_MAX_IN_FLIGHT": "10"]) }
    }

    @Test func trustedProxiesMatchAddressesAndRanges() throws {
        let proxies = try TrustedProxies(parsing: "10.0.0.0/8, 192.168.1.7, fd00::/8")
        #expect(proxies.contains("10.255.0.1"))
        #expect(!proxies.contains("11.0.0.1"))
        #expect(proxies.contains("192.168.1.7"))
        #expect(!proxies.contains("192.168.1.8"))
        #expect(proxies.contains("fd12::1"))
        #expect(!proxies.contains("fe80::1"))
        #expect(!proxies.contains("not an address"))
        #expect(!TrustedProxies.none.contains("127.0.0.1"))
        #expect(try TrustedProxies(parsing: "172.16.0.0/12").contains("172.31.255.255"))
        #expect(try !TrustedProxies(parsing: "172.16.0.0/12").contains("172.32.0.0"))
    }

    @Test func theClientIsTheNearestForwardedAddressThatIsNotAProxy() throws {
        let proxies = try TrustedProxies(parsing: "10.0.0.0/8")
        // Through two proxies: the client wrote a fake first entry; the one the outer proxy saw counts.
        #expect(proxies.client(peer: "10.0.0.5", forwardedFor: "1.2.3.4, 203.0.113.9, 10.0.0.7") == "203.0.113.9")
        #expect(proxies.client(peer: "10.0.0.5", forwardedFor: nil) == "10.0.0.5")
        // Not from a proxy: the header is the client's own claim.
        #expect(proxies.client(peer: "203.0.113.1", forwardedFor: "1.2.3.4") == "203.0.113.1")
        // A malformed entry stops the walk at the last address a proxy vouched for.
        #expect(proxies.client(peer: "10.0.0.5", forwardedFor: "1.2.3.4, garbage") == "10.0.0.5")
        #expect(proxies.client(peer: "10.0.0.5", forwardedFor: "10.0.0.9") == "10.0.0.9")
    }

    @Test func aRefusalIsRememberedUntilItsRetryTimeCountingDown() {
        let memory = RejectionMemory(capacity: 2)
        let limit = RateLimit(name: "t", scope: .shopper, algorithm: .gcra, quota: 1, windowSeconds: 10)
        let refusal = RateLimitDecision(
            limit: limit, allowed: false, remaining: 0, resetMicroseconds: 10_000_000, retryAfterMicroseconds: 4_000_000)
        let now = ContinuousClock.now
        memory.remember(refusal, for: "a", now: now)
        let later = memory.refusal(for: "a", now: now + .seconds(1))
        #expect(later?.retryAfterMicroseconds == 3_000_000)
        #expect(later?.resetMicroseconds == 9_000_000)
        #expect(memory.refusal(for: "a", now: now + .seconds(4)) == nil)
        #expect(memory.refusal(for: "b", now: now) == nil)
        // A pass is not remembered.
        var pass = refusal
        pass.allowed = true
        memory.remember(pass, for: "c", now: now)
        #expect(memory.refusal(for: "c", now: now) == nil)
    }

    @Test func theMemoryStaysWithinItsCapacity() {
        let memory = RejectionMemory(capacity: 2)
        let limit = RateLimit(name: "t", scope: .shopper, algorithm: .gcra, quota: 1, windowSeconds: 10)
        let refusal = { (retry: Int64) in
            RateLimitDecision(limit: limit, allowed: false, remaining: 0, resetMicroseconds: retry, retryAfterMicroseconds: retry)
        }
        let now = ContinuousClock.now
        memory.remember(refusal(1_000_000), for: "a", now: now)
        memory.remember(refusal(9_000_000), for: "b", now: now)
        memory.remember(refusal(9_000_000), for: "c", now: now)
        #expect(memory.count == 2)
        #expect(memory.refusal(for: "c", now: now) == nil)
        // Once "a" has expired, its room goes to the next.
        memory.remember(refusal(9_000_000), for: "d", now: now + .seconds(2))
        #expect(memory.refusal(for: "d", now: now + .seconds(2)) != nil)
        #expect(memory.count == 2)
    }
}
