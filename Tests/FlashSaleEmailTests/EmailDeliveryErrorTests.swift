import FlashSaleEmail
import Testing

@Suite struct EmailDeliveryErrorTests {
    @Test func retryAfterIsNamedInTheDescription() {
        #expect(EmailDeliveryError.retryable("503", retryAfter: .seconds(2)).description == "503 (retry after 2.0 seconds)")
        #expect(EmailDeliveryError.permanent("400 bad address").description == "400 bad address")
    }
}
