import FlashSale
import FlashSaleTestSupport
import Synchronization
import Testing

@Suite("SingleFlightCache: one load per key, stale copies served while one refresh runs, bounded")
struct SingleFlightCacheTests {
    static let policy = CachePolicy(
        capacity: 100, timeToLive: .seconds(2), staleFor: .seconds(60), negativeTimeToLive: .seconds(1),
        loadTimeout: .seconds(30))

    @Test func concurrentCallersShareOneLoad() async throws {
        let loader = ScriptedLoader(answer: "v1", gateOpen: false)
        let cache = SingleFlightCache<String, String>(policy: Self.policy, load: loader.load)
        let asked = Counter()
        try await withThrowingTaskGroup(of: String?.self) { group in
            for _ in 0..<100 {
                group.addTask {
                    asked.increment()
                    return try await cache.value(for: "sale")
                }
            }
            // Every caller is on its way while the one load is held at the gate.
            try await waitUntil { asked.count == 100 && loader.loads == 1 }
            try await Task.sleep(for: .milliseconds(50))
            loader.openGate()
            for try await value in group { #expect(value == "v1") }
        }
        #expect(loader.loads == 1)
    }

    @Test func aStaleCopyIsAnsweredWhileOneRefreshRuns() async throws {
        let clock = ManualClock()
        let loader = ScriptedLoader(answer: "v1", gateOpen: true)
        let cache = SingleFlightCache<String, String>(policy: Self.policy, now: clock.now, load: loader.load)
        #expect(try await cache.value(for: "sale") == "v1")

        clock.advance(by: .seconds(3))
        loader.closeGate(answering: "v2")
        // The refresh is held at the gate: were a caller to wait for it, this would not return.
        for _ in 0..<20 { #expect(try await cache.value(for: "sale") == "v1") }
        // One refresh for all of them.
        try await waitUntil { loader.loads >= 2 }
        #expect(loader.loads == 2)

        loader.openGate()
        try await waitUntil { try await cache.value(for: "sale") == "v2" }
        #expect(loader.loads == 2)
    }

    @Test func notFoundIsKeptBrieflyAndNeverServedStale() async throws {
        let clock = ManualClock()
        let loader = ScriptedLoader(answer: nil, gateOpen: true)
        let cache = SingleFlightCache<String, String>(policy: Self.policy, now: clock.now, load: loader.load)
        #expect(try await cache.value(for: "soon") == nil)
        #expect(try await cache.value(for: "soon") == nil)
        #expect(loader.loads == 1)

        clock.advance(by: .milliseconds(1_001))
        loader.closeGate(answering: "created")
        loader.openGate()
        #expect(try await cache.value(for: "soon") == "created")
        #expect(loader.loads == 2)
    }

    @Test func entriesStayWithinTheCap() async throws {
        let loader = ScriptedLoader(answer: nil, gateOpen: true)
        let cache = SingleFlightCache<String, String>(policy: Self.policy, load: loader.load)
        var largest = 0
        for index in 0..<10_000 {
            _ = try await cache.value(for: "unknown-\(index)")
            largest = max(largest, cache.count)
        }
        #expect(largest <= Self.policy.capacity)
        #expect(loader.loads == 10_000)
    }

    @Test func loadedValuesOutliveNotFoundWhenTheCacheIsFull() async throws {
        let loader = KeyEchoLoader()
        let cache = SingleFlightCache<String, String>(policy: Self.policy, load: loader.load)
        _ = try await cache.value(for: "hot")
        for index in 0..<(Self.policy.capacity * 2) { _ = try await cache.value(for: "missing-\(index)") }
        #expect(try await cache.value(for: "hot") == "hot")
        #expect(loader.loads(of: "hot") == 1)
    }

    @Test func aFailedLoadReachesEveryWaiterAndIsNotKept() async throws {
        let loader = ScriptedLoader(answer: "v1", gateOpen: false, failures: 1)
        let cache = SingleFlightCache<String, String>(policy: Self.policy, load: loader.load)
        let failures = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<10 { group.addTask { (try? await cache.value(for: "sale")) == nil } }
            try? await waitUntil { loader.loads == 1 }
            try? await Task.sleep(for: .milliseconds(50))
            loader.openGate()
            return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(loader.loads == 1)
        #expect(failures == 10)
        #expect(cache.count == 0)
        #expect(try await cache.value(for: "sale") == "v1")
        #expect(loader.loads == 2)
    }

    @Test func aFailedRefreshKeepsTheStaleCopyUntilItIsNoLongerUsable() async throws {
        let clock = ManualClock()
        let loader = ScriptedLoader(answer: "v1", gateOpen: true)
        let cache = SingleFlightCache<String, String>(policy: Self.policy, now: clock.now, load: loader.load)
        _ = try await cache.value(for: "sale")

        loader.failFromNowOn()
        clock.advance(by: .seconds(3))
        #expect(try await cache.value(for: "sale") == "v1")
        try await waitUntil { loader.loads == 2 }
        // Whether the failed refresh has ended or not, the copy is answered without another load.
        for _ in 0..<5 { #expect(try await cache.value(for: "sale") == "v1") }
        #expect(loader.loads == 2)

        clock.advance(by: .seconds(60))
        await #expect(throws: ScriptedLoader.Failure.self) { try await cache.value(for: "sale") }
    }
}

final class Counter: Sendable {
    private let value = Mutex(0)

    var count: Int { value.withLock { $0 } }

    func increment() { value.withLock { $0 += 1 } }
}

/// A clock the test moves by hand.
final class ManualClock: Sendable {
    private let reading = Mutex(ContinuousClock.now)

    var now: @Sendable () -> ContinuousClock.Instant { { [self] in reading.withLock { $0 } } }

    func advance(by duration: Duration) { reading.withLock { $0 += duration } }
}

/// Answers one value for every key, after a gate the test opens, failing the first `failures` loads.
final class ScriptedLoader: Sendable {
    struct Failure: Error {}

    private struct State {
        var answer: String?
        var gateOpen: Bool
        var waiting: [CheckedContinuation<Void, Never>] = []
        var loads = 0
        var failures: Int
    }

    private let state: Mutex<State>

    init(answer: String?, gateOpen: Bool, failures: Int = 0) {
        state = Mutex(State(answer: answer, gateOpen: gateOpen, failures: failures))
    }

    var loads: Int { state.withLock { $0.loads } }

    var load: SingleFlightCache<String, String>.Load {
        { [self] _ in
            let (fails, waits) = state.withLock { state in
                state.loads += 1
                let fails = state.failures > 0
                if fails { state.failures -= 1 }
                return (fails, !state.gateOpen)
            }
            if waits {
                await withCheckedContinuation { continuation in
                    let resumeNow = state.withLock { state in
                        if state.gateOpen { return true }
                        state.waiting.append(continuation)
                        return false
                    }
                    if resumeNow { continuation.resume() }
                }
            }
            if fails { throw Failure() }
            return state.withLock { $0.answer }
        }
    }

    func openGate() {
        let waiting = state.withLock { state in
            state.gateOpen = true
            defer { state.waiting = [] }
            return state.waiting
        }
        for continuation in waiting { continuation.resume() }
    }

    func closeGate(answering answer: String?) {
        state.withLock {
            $0.gateOpen = false
            $0.answer = answer
        }
    }

    func failFromNowOn() { state.withLock { $0.failures = .max } }
}

/// Answers each key with itself, except keys starting with "missing", and counts loads per key.
final class KeyEchoLoader: Sendable {
    private let counts = Mutex([String: Int]())

    func loads(of key: String) -> Int { counts.withLock { $0[key, default: 0] } }

    var load: SingleFlightCache<String, String>.Load {
        { [self] key in
            counts.withLock { $0[key, default: 0] += 1 }
            return key.hasPrefix("missing") ? nil : key
        }
    }
}
