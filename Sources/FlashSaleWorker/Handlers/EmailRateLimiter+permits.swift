import FlashSaleEmail

/// The shared Redis rate limits as the e-mail handler asks for them.
public struct RateLimitedPermits: DeliveryPermits {
    let limiter: EmailRateLimiter

    public init(_ limiter: EmailRateLimiter) {
        self.limiter = limiter
    }

    public func waitForPermit(maxWait: Duration) async throws -> Duration? {
        switch try await limiter.waitForPermit(maxWait: maxWait) {
        case .granted: nil
        case .denied(let wait): wait
        }
    }
}
