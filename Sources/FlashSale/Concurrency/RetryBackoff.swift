/// When a failed attempt is tried again: exponential back-off with jitter, so attempts that failed
/// together (jobs during a provider outage, repairs of a selling SKU) do not all come back in the
/// same instant.
public struct RetryBackoff: Sendable, Equatable {
    public var base: Duration
    public var ceiling: Duration

    public init(base: Duration = .seconds(1), ceiling: Duration = .seconds(15 * 60)) {
        self.base = base
        self.ceiling = ceiling
    }

    /// The wait after the `attempt`-th failed run (1-based): base × 2^(attempt−1), at most `ceiling`,
    /// then a random point in its upper half ("equal jitter": spread out, yet never near zero).
    /// `unit` is a random number in 0...1.
    public func delay(afterAttempt attempt: Int, unit: Double = Double.random(in: 0...1)) -> Duration {
        let exponent = min(max(attempt - 1, 0), 40)
        let full = min(base * (1 << exponent), ceiling)
        return full / 2 + (full / 2) * min(max(unit, 0), 1)
    }
}
