import Foundation
import Testing

@testable import FlashSaleWorker

@Suite struct OrderEmailFactsTests {
    let facts = OrderEmailFacts(
        orderID: "0b6f0c3e-4d7e-4f7a-9f3e-2a1b9c8d7e6f", saleName: "Spring sale", itemName: "Blue mug", quantity: 2,
        amountCents: 1998, payBy: Date(timeIntervalSince1970: 1_800_000_000), email: "alice@example.com")

    @Test func eachOrderEventHasItsOwnMessageAndKey() throws {
        let events = ["order_reserved", "order_paid", "order_cancelled", "order_expired"]
        let messages = try events.map { try #require(facts.message(event: $0, to: "alice@example.com")) }
        #expect(messages.map(\.idempotencyKey) == events.map { "email:\(facts.orderID):\($0)" })
        #expect(Set(messages.map(\.subject)).count == 4)
        #expect(messages.allSatisfy { $0.to == "alice@example.com" && $0.text.contains(facts.orderID) })
        #expect(messages[0].subject.contains("pay by 2027-01-15T08:00:00Z"))
        #expect(messages[0].text.contains("Amount: 19.98"))
        #expect(messages[1].text.contains("19.98 for 2 × Blue mug in Spring sale"))
    }

    @Test func anUnknownEventHasNoMessage() {
        #expect(facts.message(event: "order_shipped", to: "alice@example.com") == nil)
    }
}
