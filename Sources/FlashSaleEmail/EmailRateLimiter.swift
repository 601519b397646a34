import RedisClient
import Synchronization

/// Delivery rate limits shared by every worker process, kept in Redis (keys under `fs:rl:email:`).
///
/// Why in Redis: the provider counts what all our workers send together; a limit per process
/// would multiply with the number of processes.
///
/// What it enforces, all at once (a permit is taken from every limit or from none):
/// - a token bucket, ``Limits/perSecond`` refill with ``Limits/burst`` at most at once;
/// - no sliding window of one second (plus ``Limits/windowMargin``) ever holds more than
///   ``Limits/perSecond`` sends. The bucket alone would allow a full burst plus a second's refill
///   (twice the rate) within one second; the margin absorbs the jitter between our grant and the
///   provider's receipt, since the provider counts by the time it receives;
/// - optional tiered quotas (per minute, hour, day) as sliding windows, each at 90% of the
///   provider's stated quota (rounded down), leaving room for its own counting differences.
public final class EmailRateLimiter: Sendable {
    /// A provider's stated quota for one period.
    public struct Quota: Sendable, Equatable {
        public enum Period: String, Sendable, Equatable, CaseIterable {
            case minute, hour, day

            public var duration: Duration {
                switch self {
                case .minute: .seconds(60)
                case .hour: .seconds(3600)
                case .day: .seconds(86_400)
                }
            }
        }

        public let period: Period
        /// What the provider allows per period.
        public let providerLimit: Int
        /// What we allow ourselves: 90% of the provider's quota, rounded down.
        public var limit: Int { providerLimit * 9 / 10 }

        /// - Precondition: `providerLimit >= 2`, so 90% of it still allows one send.
        public init(_ providerLimit: Int, per period: Period) {
            precondition(providerLimit >= 2, "a quota under 2 leaves nothing at 90%")
            self.providerLimit = providerLimit
            self.period = period
        }
    }

    public struct Limits: Sendable, Equatable {
        public var perSecond: Int
        public var burst: Int
        public var quotas: [Quota]
        /// Added to the one-second window: sends are spaced as if a second lasted this much longer.
        public var windowMargin: Duration

        public init(perSecond: Int = 50, burst: Int = 50, quotas: [Quota] = [], windowMargin: Duration = .milliseconds(250)) {
            precondition(perSecond >= 1 && burst >= 1 && windowMargin >= .zero)
            self.perSecond = perSecond
            self.burst = burst
            self.quotas = quotas
            self.windowMargin = windowMargin
        }
    }

    public enum Permit: Sendable, Equatable {
        /// A permit was taken; `at` is Redis' clock (since 1970) at that moment.
        case granted(at: Duration)
        /// Nothing was taken; no permit can be had sooner than this.
        case denied(retryAfter: Duration)
    }

    public let limits: Limits
    private let client: RedisClient
    private let keys: [RedisArgument]
    private let arguments: [RedisArgument]
    private let deniedCount = Atomic<Int>(0)
    private let onWait: (@Sendable (Duration) -> Void)?

    /// - Parameters:
    ///   - keyPrefix: where the counters live. The keys carry the hash tag `{email}`, so in a Redis
    ///     Cluster they share one slot, as a script's keys must.
    ///   - onWait: called each time a caller is told to wait (the `rate-limit waits` metric).
    public init(
        client: RedisClient, limits: Limits = Limits(), keyPrefix: String = "fs:rl:email:",
        onWait: (@Sendable (Duration) -> Void)? = nil
    ) {
        self.client = client
        self.limits = limits
        self.onWait = onWait
        let base = keyPrefix + "{email}:"
        var keys: [RedisArgument] = [.string(base + "bucket"), .string(base + "second")]
        let secondSpan = Self.micros(.seconds(1) + limits.windowMargin)
        // 10 ms slices: the one-second check is never more than 10 ms too cautious.
        var arguments: [RedisArgument] = [
            .integer(Int64(limits.perSecond)), .integer(Int64(limits.burst)),
            .integer(secondSpan), .integer(10_000), .integer(Int64(limits.perSecond)),
        ]
        for quota in limits.quotas {
            keys.append(.string(base + quota.period.rawValue))
            let span = Self.micros(quota.period.duration)
            // 60 slices per window: an hour's check is at most a minute too cautious.
            arguments += [.integer(span), .integer(span / 60), .integer(Int64(quota.limit))]
        }
        self.keys = keys
        self.arguments = arguments
    }

    /// How many times a caller was told to wait, since this limiter was made.
    public var waits: Int { deniedCount.load(ordering: .relaxed) }

    /// Takes one permit from every limit, or none and says how long to wait. One round trip.
    public func acquire() async throws -> Permit {
        let reply = try await client.run(EmailRateLimitScript.script, keys: keys, arguments: arguments)
        guard let values = reply.array?.compactMap(\.integer), values.count == 3 else {
            throw RedisError.protocolError("the e-mail rate-limit script answered \(reply)")
        }
        if values[0] == 1 { return .granted(at: .microseconds(values[2])) }
        let wait = Duration.microseconds(max(1, values[1]))
        deniedCount.add(1, ordering: .relaxed)
        onWait?(wait)
        return .denied(retryAfter: wait)
    }

    /// Waits (sleeping, never spinning) until a permit is had, as long as the waiting stays within
    /// `maxWait` in total. When the next wait would go past it, returns `.denied` with that wait
    /// instead, so the caller decides: hand the job back for later rather than hold it.
    /// Throws `CancellationError` when the task is cancelled while waiting (shutdown).
    public func waitForPermit(maxWait: Duration) async throws -> Permit {
        let clock = ContinuousClock()
        let deadline = clock.now + maxWait
        while true {
            let permit = try await acquire()
            guard case .denied(let wait) = permit else { return permit }
            guard clock.now + wait <= deadline else { return permit }
            try await clock.sleep(for: wait)
        }
    }

    static func micros(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds * 1_000_000 + attoseconds / 1_000_000_000_000
    }
}
