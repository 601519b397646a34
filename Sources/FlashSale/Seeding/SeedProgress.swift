/// What a long seed tells its operator while it runs.
public enum SeedPhase: String, Sendable {
    /// Reading and checking the input (done/total in bytes, or rows for generated SKUs).
    case reading
    /// Comparing with and writing PostgreSQL in one statement (done is 0, then total).
    case writing
    /// Writing the sale's stock into Redis (done/total in SKUs).
    case priming
}

public protocol SeedProgress: Sendable {
    func report(_ phase: SeedPhase, done: Int64, total: Int64)
}

/// For callers that want no progress.
public struct SilentSeedProgress: SeedProgress {
    public init() {}
    public func report(_ phase: SeedPhase, done: Int64, total: Int64) {}
}
