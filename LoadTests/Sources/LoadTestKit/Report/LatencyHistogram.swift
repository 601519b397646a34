import Histogram

/// Latencies in microseconds (1 µs to 10 min), as HdrHistogram keeps them: three significant
/// digits for the run's figures, two for the per-second timeline (a tenth of the memory, which
/// matters over a long run). Encoded as the recorded (value, count) pairs only, so a report stays
/// small and two runs' histograms merge exactly (`flashsale-loadtest merge`).
public struct LatencyHistogram: Sendable, Codable, Equatable {
    private var histogram: Histogram<UInt64>

    static let highestMicroseconds: UInt64 = 600_000_000

    public init(significantDigits: Int = 3) {
        histogram = Histogram(
            highestTrackableValue: Self.highestMicroseconds,
            numberOfSignificantValueDigits: significantDigits <= 2 ? .two : .three)
    }

    public var count: UInt64 { histogram.totalCount }

    /// Values past the highest trackable one are kept as the highest: a 20-minute stall is still a stall.
    public mutating func record(microseconds: UInt64, count: UInt64 = 1) {
        histogram.record(min(max(microseconds, 1), Self.highestMicroseconds), count: count)
    }

    public mutating func record(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        let micros = max(0, seconds) * 1_000_000 + max(0, attoseconds) / 1_000_000_000_000
        record(microseconds: UInt64(micros))
    }

    public mutating func merge(_ other: LatencyHistogram) {
        histogram.add(other.histogram)
    }

    /// The value at `percentile` (0–100), in milliseconds; 0 when nothing was recorded.
    public func milliseconds(atPercentile percentile: Double) -> Double {
        guard count > 0 else { return 0 }
        return Double(histogram.valueAtPercentile(percentile)) / 1000
    }

    /// The largest value recorded, exactly (not its bucket's top).
    public var maxMilliseconds: Double { count > 0 ? Double(histogram.maxRecorded) / 1000 : 0 }
    public var meanMilliseconds: Double { count > 0 ? histogram.mean / 1000 : 0 }

    public static func == (lhs: LatencyHistogram, rhs: LatencyHistogram) -> Bool {
        lhs.pairs() == rhs.pairs() && lhs.histogram.numberOfSignificantValueDigits == rhs.histogram.numberOfSignificantValueDigits
    }

    /// (value, count) per recorded bucket. The top bucket carries the exact largest value, which
    /// lands in the same bucket when recorded again, so the top percentiles survive a round trip.
    private func pairs() -> [[UInt64]] {
        var pairs = histogram.recordedValues().map { [$0.value, $0.count] }
        if !pairs.isEmpty { pairs[pairs.count - 1][0] = histogram.maxRecorded }
        return pairs
    }

    enum CodingKeys: String, CodingKey {
        case significantDigits, values
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(significantDigits: try container.decode(Int.self, forKey: .significantDigits))
        for pair in try container.decode([[UInt64]].self, forKey: .values) where pair.count == 2 {
            record(microseconds: pair[0], count: pair[1])
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(Int(histogram.numberOfSignificantValueDigits.rawValue), forKey: .significantDigits)
        try container.encode(pairs(), forKey: .values)
    }
}
