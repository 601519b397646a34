import Foundation
import Testing

@testable import LoadTestKit

@Suite struct ArrivalPlanTests {
    static func scenario(shoppers: Int = 1000) throws -> Scenario {
        var scenario = try ScenarioTests.shipped("smoke.json")
        scenario.shoppers = shoppers
        return scenario
    }

    @Test func eachPhaseGetsItsShareAndTheSpikeRampsUp() throws {
        let scenario = try Self.scenario(shoppers: 10_000)
        let plan = ArrivalPlan(scenario, runID: "r", seed: 1)
        #expect(plan.arrivals.count == 10_000)
        // smoke.json: 1 s browsing (10%), 2 s spike (60%, 0.5 s ramp), 2 s tail (30%).
        let browsing = plan.arrivals.filter { $0.offset < 1 }.count
        let spike = plan.arrivals.filter { $0.offset >= 1 && $0.offset < 3 }.count
        #expect(browsing == 1000)
        #expect(spike == 6000)
        #expect(plan.arrivals.allSatisfy { $0.offset >= 0 && $0.offset < scenario.seconds })
        // The ramp: the spike's first quarter second has far fewer arrivals than its last one.
        let rampStart = plan.arrivals.filter { $0.offset >= 1 && $0.offset < 1.25 }.count
        let plateau = plan.arrivals.filter { $0.offset >= 2.75 && $0.offset < 3 }.count
        #expect(rampStart * 3 < plateau, "\(rampStart) arrivals at the ramp's start, \(plateau) on the plateau")
        #expect(zip(plan.arrivals, plan.arrivals.dropFirst()).allSatisfy { $0.offset <= $1.offset })
    }

    @Test func theSameSeedPlansTheSameRunAndAnotherSeedDoesNot() throws {
        let scenario = try Self.scenario()
        let first = ArrivalPlan(scenario, runID: "r", seed: 42).arrivals
        #expect(first == ArrivalPlan(scenario, runID: "r", seed: 42).arrivals)
        #expect(first.map(\.behaviour) != ArrivalPlan(scenario, runID: "r", seed: 43).arrivals.map(\.behaviour))
    }

    @Test func theBehaviourMixFollowsTheShares() throws {
        let scenario = try Self.scenario(shoppers: 20_000)
        let plan = ArrivalPlan(scenario, runID: "r", seed: 9)
        let total = scenario.behaviours.reduce(0) { $0 + $1.share }
        for share in scenario.behaviours {
            let seen = Double(plan.arrivals.filter { $0.behaviour == share.behaviour }.count) / 20_000
            #expect(abs(seen - share.share / total) < 0.02, "\(share.behaviour): \(seen)")
        }
        let hot = Double(plan.arrivals.filter { $0.sku == scenario.sale.hotSKU }.count) / 20_000
        #expect(abs(hot - scenario.hotSKUShare) < 0.02)
    }

    @Test func botsShareAFewIdentitiesAndSomeForgeTheirJWT() throws {
        let scenario = try Self.scenario(shoppers: 5000)
        let bots = ArrivalPlan(scenario, runID: "r", seed: 3).arrivals.filter { $0.behaviour == .bot }
        #expect(!bots.isEmpty)
        #expect(Set(bots.map(\.shopperID)).count <= scenario.bots.identities)
        #expect(bots.contains { !$0.validJWT } && bots.contains { $0.validJWT })
        let shoppers = ArrivalPlan(scenario, runID: "r", seed: 3).arrivals.filter { $0.behaviour != .bot }
        #expect(Set(shoppers.map(\.shopperID)).count == shoppers.count)
        #expect(shoppers.allSatisfy { $0.validJWT })
    }

    @Test func shardsSplitThePopulationExactlyOnce() throws {
        let scenario = try Self.scenario(shoppers: 3001)
        let whole = ArrivalPlan(scenario, runID: "r", seed: 5).arrivals
        let shards = (1...3).map { ArrivalPlan(scenario, runID: "r", seed: 5, shard: $0, of: 3).arrivals }
        #expect(shards.map(\.count).reduce(0, +) == whole.count)
        let joined = shards.flatMap { $0 }.sorted { $0.index < $1.index }
        #expect(joined.map(\.index) == whole.map(\.index))
        #expect(joined.map(\.offset) == whole.map(\.offset))
        #expect(joined.map(\.behaviour) == whole.map(\.behaviour))
        #expect(joined.map(\.sku) == whole.map(\.sku))
        // Shoppers are the same people; bots are each load machine's own.
        #expect(zip(joined, whole).allSatisfy { $0.behaviour == .bot || $0.shopperID == $1.shopperID })
        let bots = shards.map { Set($0.filter { $0.behaviour == .bot }.map(\.shopperID)) }
        #expect(bots[0].isDisjoint(with: bots[1]) && bots[1].isDisjoint(with: bots[2]))
    }
}
