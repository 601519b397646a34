import FlashSale
import Testing

/// The sold-out short circuit's decisions, with a fake clock: when an attempt is answered from
/// memory, when one looks at the stock again, and when the mark goes.
@Suite struct SoldOutSKUsTests {
    let start = ContinuousClock.now
    let since: Int64 = 1_000_000

    func marked() -> SoldOutSKUs {
        let memory = SoldOutSKUs()
        memory.checked(saleID: "s", sku: "a", stock: 0, version: 7, unixSeconds: since, now: start)
        return memory
    }

    @Test func onlyTokensIssuedAfterTheSellOutAreAnsweredFromMemory() {
        let memory = marked()
        let now = since + 10
        func verdict(issuedAt: Int64?, sku: String = "a") -> SoldOutSKUs.Verdict {
            memory.verdict(saleID: "s", sku: sku, issuedAt: issuedAt, unixSeconds: now, now: start)
        }
        #expect(verdict(issuedAt: since + 3) == .soldOut)
        // Issued before (or too near, for another clock) the sell-out: it may have won; Redis knows.
        #expect(verdict(issuedAt: since + 2) == .unknown)
        #expect(verdict(issuedAt: since - 100) == .unknown)
        // From a clock further ahead than the margin, or no token time at all: Redis.
        #expect(verdict(issuedAt: now + 3) == .unknown)
        #expect(verdict(issuedAt: nil) == .unknown)
        #expect(verdict(issuedAt: since + 3, sku: "b") == .unknown)
    }

    @Test func oneAttemptPerIntervalLooksAgainWhileTheOthersAreAnswered() {
        let memory = marked()
        let later = start + SoldOutSKUs.recheckInterval
        func verdict(at instant: ContinuousClock.Instant) -> SoldOutSKUs.Verdict {
            memory.verdict(saleID: "s", sku: "a", issuedAt: since + 5, unixSeconds: since + 6, now: instant)
        }
        #expect(verdict(at: start + .milliseconds(10)) == .soldOut)
        #expect(verdict(at: later) == .recheck)
        #expect(verdict(at: later) == .soldOut)
        // Nothing changed (same count, still none left): the mark stands from its first second.
        memory.checked(saleID: "s", sku: "a", stock: 0, version: 7, unixSeconds: since + 6, now: later)
        #expect(verdict(at: later + .milliseconds(1)) == .soldOut)
        #expect(verdict(at: later + SoldOutSKUs.recheckInterval) == .recheck)
        // A failed look lets the next attempt try.
        memory.checkFailed(saleID: "s", sku: "a")
        #expect(verdict(at: later + SoldOutSKUs.recheckInterval) == .recheck)
    }

    @Test func unitsSoldOrGivenBackInBetweenMoveTheMarkOrEndIt() {
        let memory = marked()
        // The count moved: some token may have won since; only tokens after this second are answered.
        memory.checked(saleID: "s", sku: "a", stock: 0, version: 9, unixSeconds: since + 20, now: start)
        #expect(memory.verdict(saleID: "s", sku: "a", issuedAt: since + 5, unixSeconds: since + 30, now: start) == .unknown)
        #expect(memory.verdict(saleID: "s", sku: "a", issuedAt: since + 23, unixSeconds: since + 30, now: start) == .soldOut)
        // Units back in Redis: the mark goes.
        memory.checked(saleID: "s", sku: "a", stock: 2, version: 10, unixSeconds: since + 31, now: start)
        #expect(memory.verdict(saleID: "s", sku: "a", issuedAt: since + 40, unixSeconds: since + 41, now: start) == .unknown)
        #expect(memory.count == 0)
        // Given back here: gone at once.
        let other = marked()
        other.stockReturned(saleID: "s", sku: "a")
        #expect(other.count == 0)
        // Stock missing from Redis is not sold out.
        let missing = marked()
        missing.checked(saleID: "s", sku: "a", stock: nil, version: 7, unixSeconds: since + 1, now: start)
        #expect(missing.count == 0)
    }

    @Test func staysWithinItsCapacity() {
        let memory = SoldOutSKUs(capacity: 2)
        for sku in ["a", "b", "c"] {
            memory.checked(saleID: "s", sku: sku, stock: 0, version: 1, unixSeconds: since, now: start)
        }
        #expect(memory.count == 2)
    }

    @Test func tokensCarryTheSecondTheyWereIssued() {
        #expect(CheckoutTokens.issuedAt("5f5e1000" + String(repeating: "ab", count: 12)) == 0x5f5e_1000)
        #expect(CheckoutTokens.issuedAt("not a token") == nil)
    }
}
