import FlashSale
import FlashSaleWorker
import Testing

@Suite struct RetryBackoffTests {
    let backoff = RetryBackoff(base: .seconds(1), ceiling: .seconds(60))

    @Test func doublesWithEachAttemptWithinItsUpperHalf() {
        #expect(backoff.delay(afterAttempt: 1, unit: 0) == .milliseconds(500))
        #expect(backoff.delay(afterAttempt: 1, unit: 1) == .seconds(1))
        #expect(backoff.delay(afterAttempt: 3, unit: 0) == .seconds(2))
        #expect(backoff.delay(afterAttempt: 3, unit: 1) == .seconds(4))
        #expect(backoff.delay(afterAttempt: 4, unit: 0.5) == .seconds(6))
    }

    @Test func neverPastTheCeilingNorOverflowing() {
        #expect(backoff.delay(afterAttempt: 10, unit: 1) == .seconds(60))
        #expect(backoff.delay(afterAttempt: 1_000, unit: 1) == .seconds(60))
        #expect(backoff.delay(afterAttempt: 0, unit: 1) == .seconds(1))
    }

    @Test func jitterSpreadsRetriesOfOneAttempt() {
        let delays = Set((0..<50).map { _ in backoff.delay(afterAttempt: 5) })
        #expect(delays.count > 10)
        #expect(delays.allSatisfy { $0 >= .seconds(8) && $0 <= .seconds(16) })
    }
}
