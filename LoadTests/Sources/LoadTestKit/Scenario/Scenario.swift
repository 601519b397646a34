import Foundation

/// A rehearsal of a sale day, read from a JSON file under `LoadTests/Scenarios/` (keys in
/// snake_case; `LoadTests/README.md` documents each one).
public struct Scenario: Sendable, Codable, Equatable {
    public var name: String
    public var description: String?
    public var sale: SalePlan
    /// How many simulated people arrive over the whole run (bots included).
    public var shoppers: Int
    /// When they arrive: consecutive phases, each with its share of the arrivals.
    public var phases: [Phase]
    /// What each arrival does, as shares of the population (they need not sum to 1: they are weights).
    public var behaviours: [BehaviourShare]
    public var bots: BotSettings
    /// The order a shopper goes for: the hot SKU with this probability, else one of the others at random.
    public var hotSKUShare: Double
    /// Seconds to wait after the last answer for the worker to expire the abandoned orders before
    /// the audit; the audit waits at most this long past the last order's `pay_by`.
    public var settleSeconds: Int

    // The file's snake_case keys are converted to camelCase first: acronyms need their spelling here.
    enum CodingKeys: String, CodingKey {
        case name, description, sale, shoppers, phases, behaviours, bots, settleSeconds
        case hotSKUShare = "hotSkuShare"
    }

    public struct SalePlan: Sendable, Codable, Equatable {
        /// The sale id's stem: each run seeds its own sale `<id>-<run id>`, so runs never mix.
        public var id: String
        public var name: String
        public var paymentWindowSeconds: Int64
        public var items: [Item]
        /// The SKU most shoppers want.
        public var hotSKU: String

        enum CodingKeys: String, CodingKey {
            case id, name, paymentWindowSeconds, items
            case hotSKU = "hotSku"
        }
    }

    public struct Item: Sendable, Codable, Equatable {
        public var sku: String
        public var name: String
        public var priceCents: Int64
        public var stock: Int32
        public var perShopperLimit: Int32
    }

    public struct Phase: Sendable, Codable, Equatable {
        public var name: String
        public var seconds: Double
        /// The share of all arrivals that arrive in this phase.
        public var share: Double
        /// Arrivals rise linearly from nothing to the phase's rate over its first `ramp_seconds`.
        public var rampSeconds: Double?
        /// The sale opens at the start of this phase; arrivals before it browse and wait for it.
        public var saleOpens: Bool?
    }

    public struct BehaviourShare: Sendable, Codable, Equatable {
        public var behaviour: Behaviour
        public var share: Double
    }

    public struct BotSettings: Sendable, Codable, Equatable {
        /// Distinct identities (JWT subjects) every bot arrival shares: a few, each very busy.
        public var identities: Int
        /// Purchase attempts one bot arrival fires, one every `interval_milliseconds`.
        public var attemptsPerArrival: Int
        public var intervalMilliseconds: Double
        /// The share of bot arrivals that carry a valid JWT; the rest send a forged one.
        public var validJWTShare: Double

        enum CodingKeys: String, CodingKey {
            case identities, attemptsPerArrival, intervalMilliseconds
            case validJWTShare = "validJwtShare"
        }
    }

    /// Total seconds of the arrival schedule.
    public var seconds: Double { phases.reduce(0) { $0 + $1.seconds } }

    /// Seconds from the run's start to the sale's opening.
    public var saleOpensAfter: Double {
        var elapsed = 0.0
        for phase in phases {
            if phase.saleOpens == true { return elapsed }
            elapsed += phase.seconds
        }
        return 0
    }

    public static func load(_ path: String) throws -> Scenario {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw ScenarioError("cannot read the scenario \(path): \(error.localizedDescription)")
        }
        return try decode(data, source: path)
    }

    public static func decode(_ data: Data, source: String) throws -> Scenario {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        let scenario: Scenario
        do {
            scenario = try decoder.decode(Scenario.self, from: data)
        } catch let error as DecodingError {
            throw ScenarioError("\(source): \(ScenarioError.describe(error))")
        }
        try scenario.validate()
        return scenario
    }

    public func validate() throws(ScenarioError) {
        guard shoppers > 0 else { throw ScenarioError("shoppers must be positive") }
        guard !phases.isEmpty, phases.allSatisfy({ $0.seconds > 0 && $0.share >= 0 }) else {
            throw ScenarioError("phases need a positive `seconds` and a `share` of at least 0")
        }
        guard phases.reduce(0, { $0 + $1.share }) > 0 else { throw ScenarioError("the phases' shares add up to 0") }
        guard phases.filter({ $0.saleOpens == true }).count <= 1 else {
            throw ScenarioError("only one phase can open the sale (sale_opens)")
        }
        guard !behaviours.isEmpty, behaviours.allSatisfy({ $0.share >= 0 }), behaviours.reduce(0, { $0 + $1.share }) > 0 else {
            throw ScenarioError("behaviours need shares of at least 0 that do not all be 0")
        }
        guard !sale.items.isEmpty else { throw ScenarioError("the sale needs items") }
        guard sale.items.contains(where: { $0.sku == sale.hotSKU }) else {
            throw ScenarioError("hot_sku '\(sale.hotSKU)' is not one of the sale's items")
        }
        guard (0...1).contains(hotSKUShare) else { throw ScenarioError("hot_sku_share must be between 0 and 1") }
        guard bots.identities > 0, bots.attemptsPerArrival > 0, bots.intervalMilliseconds > 0,
            (0...1).contains(bots.validJWTShare)
        else { throw ScenarioError("bots need identities, attempts_per_arrival and interval_milliseconds above 0") }
        guard sale.paymentWindowSeconds > 0 else { throw ScenarioError("the payment window must be positive") }
        guard settleSeconds >= 0 else { throw ScenarioError("settle_seconds must be at least 0") }
    }

    /// The scenario with `--scale`, `--duration` and `--rate` applied: scale multiplies shoppers,
    /// bots' identities and stock; duration stretches every phase alike; rate sets the peak arrival
    /// rate by changing the number of shoppers.
    public func overridden(scale: Double?, duration: Double?, peakRate: Double?) throws -> Scenario {
        var scenario = self
        if let scale {
            guard scale > 0 else { throw ScenarioError("--scale must be positive") }
            scenario.shoppers = max(1, Int((Double(shoppers) * scale).rounded()))
            scenario.bots.identities = max(1, Int((Double(bots.identities) * scale).rounded()))
            for index in scenario.sale.items.indices {
                scenario.sale.items[index].stock = Int32(max(0, (Double(sale.items[index].stock) * scale).rounded()))
            }
        }
        if let duration {
            guard duration > 0 else { throw ScenarioError("--duration must be positive") }
            let factor = duration / scenario.seconds
            for index in scenario.phases.indices {
                scenario.phases[index].seconds *= factor
                scenario.phases[index].rampSeconds = scenario.phases[index].rampSeconds.map { $0 * factor }
            }
        }
        if let peakRate {
            guard peakRate > 0 else { throw ScenarioError("--rate must be positive") }
            scenario.shoppers = max(1, Int((Double(scenario.shoppers) * peakRate / scenario.peakArrivalRate).rounded()))
        }
        try scenario.validate()
        return scenario
    }

    /// Arrivals per second in the busiest phase (after its ramp).
    public var peakArrivalRate: Double {
        let total = phases.reduce(0) { $0 + $1.share }
        return phases.map { phase in
            let ramp = min(phase.rampSeconds ?? 0, phase.seconds)
            // A linear ramp carries half its duration's worth of the plateau's rate.
            return Double(shoppers) * phase.share / total / (phase.seconds - ramp / 2)
        }.max() ?? 0
    }
}

public struct ScenarioError: Error, CustomStringConvertible, Equatable {
    public let description: String

    public init(_ description: String) { self.description = description }

    static func describe(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> String {
            let keys = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }
            return keys.isEmpty ? "the top level" : keys.joined(separator: ".")
        }
        switch error {
        case .keyNotFound(let key, let context): return "\(path(context)) lacks `\(key.stringValue)`"
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
            return "\(path(context)): \(context.debugDescription)"
        @unknown default: return "\(error)"
        }
    }
}
