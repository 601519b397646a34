/// Who arrives when, and what they do: the whole run's schedule, computed before the first send
/// from the scenario and the seed alone, so every shard of a run plans the same population and
/// takes its own N-th of it.
public struct ArrivalPlan: Sendable {
    public struct Arrival: Sendable, Equatable {
        /// Position in the whole population (all shards).
        public var index: Int
        /// Seconds after the run's start.
        public var offset: Double
        public var behaviour: Behaviour
        public var sku: String
        /// The JWT subject: a shopper of its own, or one of the few bot identities.
        public var shopperID: String
        /// False for a bot sending a forged JWT.
        public var validJWT: Bool
    }

    public let arrivals: [Arrival]

    /// `shard` is 1-based: shard i of n takes the arrivals whose index is i-1 modulo n.
    public init(_ scenario: Scenario, runID: String, seed: UInt64, shard: Int = 1, of shards: Int = 1) {
        var random = SplitMix64(seed: seed)
        let offsets = Self.offsets(scenario)
        let totalWeight = scenario.behaviours.reduce(0) { $0 + $1.share }
        let others = scenario.sale.items.map(\.sku).filter { $0 != scenario.sale.hotSKU }
        var arrivals: [Arrival] = []
        arrivals.reserveCapacity(offsets.count / shards + 1)
        for (index, offset) in offsets.enumerated() {
            // Every draw happens for every arrival, in every shard, so the shards agree.
            var pick = Double.random(in: 0..<totalWeight, using: &random)
            var behaviour = scenario.behaviours[scenario.behaviours.count - 1].behaviour
            for share in scenario.behaviours {
                if pick < share.share {
                    behaviour = share.behaviour
                    break
                }
                pick -= share.share
            }
            let hot = Double.random(in: 0..<1, using: &random) < scenario.hotSKUShare || others.isEmpty
            let sku = hot ? scenario.sale.hotSKU : others[Int.random(in: 0..<others.count, using: &random)]
            let bot = Int.random(in: 0..<scenario.bots.identities, using: &random)
            let forged = Double.random(in: 0..<1, using: &random) >= scenario.bots.validJWTShare
            guard index % shards == shard - 1 else { continue }
            let isBot = behaviour == .bot
            arrivals.append(
                Arrival(
                    index: index, offset: offset, behaviour: behaviour, sku: sku,
                    // Each load machine's bots are its own, so a shard's audit knows whose orders are whose.
                    shopperID: isBot ? "\(runID)-bot\(bot)" + (shards > 1 ? "-shard\(shard)" : "") : "\(runID)-s\(index)",
                    validJWT: !(isBot && forged)))
        }
        self.arrivals = arrivals
    }

    /// Arrival times, evenly spaced in each phase's arrival curve: a linear ramp over `ramp_seconds`,
    /// then a constant rate (open loop: they are due whatever the service answers).
    static func offsets(_ scenario: Scenario) -> [Double] {
        let totalShare = scenario.phases.reduce(0) { $0 + $1.share }
        var offsets: [Double] = []
        offsets.reserveCapacity(scenario.shoppers)
        var start = 0.0
        var assigned = 0
        var cumulativeShare = 0.0
        for phase in scenario.phases {
            cumulativeShare += phase.share
            // Rounded on the running total, so the phases add up to exactly `shoppers`.
            let upTo = Int((Double(scenario.shoppers) * cumulativeShare / totalShare).rounded())
            let count = upTo - assigned
            assigned = upTo
            let ramp = min(max(phase.rampSeconds ?? 0, 0), phase.seconds)
            // In units of the plateau rate, the phase carries (seconds - ramp/2) worth of arrivals.
            let mass = phase.seconds - ramp / 2
            for i in 0..<max(count, 0) {
                let m = (Double(i) + 0.5) / Double(count) * mass
                let t = m < ramp / 2 ? (2 * ramp * m).squareRoot() : ramp + (m - ramp / 2)
                offsets.append(start + t)
            }
            start += phase.seconds
        }
        return offsets
    }
}
