import Synchronization

/// Values loaded on demand and kept for a short while, for keys that callers (hostile ones included)
/// choose.
///
/// - One load per key however many callers want it at once: they all wait on the same load.
/// - A copy past its time to live but still usable is answered at once while one refresh runs in
///   the background, so a refresh never stalls the requests that hold a usable copy.
/// - "No such thing" (a load answering nil) is kept too, so a flood of one unknown key costs one
///   load, but only for `negativeTimeToLive` and never served stale: a key created a moment later shows up.
/// - At most about `capacity` entries: when full, those no longer usable go first, then "no such
///   thing" entries, then any kept entry, down to three quarters of the capacity (amortised O(1) per
///   insert). Loads in flight are never dropped, so the count can pass the cap by the loads running at once.
/// - A load gives up after `loadTimeout`; a failed load is not kept (its waiters hear the error), and
///   a failed refresh keeps the stale copy in use until it is no longer usable, trying again every
///   `timeToLive`.
public final class SingleFlightCache<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    public typealias Policy = CachePolicy
    public typealias Load = @Sendable (Key) async throws -> Value?
    public typealias Instant = ContinuousClock.Instant

    private struct Stored: Sendable {
        let value: Value?
        let freshUntil: Instant
        let usableUntil: Instant
    }

    private enum Slot: Sendable {
        case stored(Stored)
        /// `stale`, while usable, is answered to every caller until the load ends.
        case loading(id: UInt64, Task<Value?, any Error>, stale: Stored?)
    }

    private struct State: Sendable {
        var slots: [Key: Slot] = [:]
        var nextLoad: UInt64 = 0
    }

    private enum Lookup {
        case answer(Value?)
        case wait(Task<Value?, any Error>)
    }

    public let policy: Policy
    private let load: Load
    private let now: @Sendable () -> Instant
    private let state = Mutex(State())

    /// `now` is the clock's reading; tests move it by hand.
    public init(policy: Policy, now: @escaping @Sendable () -> Instant = { .now }, load: @escaping Load) {
        self.policy = policy
        self.now = now
        self.load = load
    }

    /// Entries kept or loading now.
    public var count: Int { state.withLock { $0.slots.count } }

    /// The value for `key` (nil: there is none), from memory when it holds a usable copy.
    public func value(for key: Key) async throws -> Value? {
        let instant = now()
        let lookup: Lookup = state.withLock { state in
            switch state.slots[key] {
            case .stored(let stored)?:
                if instant < stored.freshUntil { return .answer(stored.value) }
                if instant < stored.usableUntil {
                    state.slots[key] = startLoad(key, stale: stored, in: &state)
                    return .answer(stored.value)
                }
            case .loading(_, let task, let stale)?:
                if let stale, instant < stale.usableUntil { return .answer(stale.value) }
                return .wait(task)
            case nil:
                makeRoom(in: &state, at: instant)
            }
            let slot = startLoad(key, stale: nil, in: &state)
            state.slots[key] = slot
            guard case .loading(_, let task, _) = slot else { preconditionFailure("a load just started") }
            return .wait(task)
        }
        switch lookup {
        case .answer(let value): return value
        // Not cancelled with this caller: others may be waiting for it, and it ends by `loadTimeout`.
        case .wait(let task): return try await task.value
        }
    }

    /// Starts the one load of `key`, in a task of its own so that no caller's cancellation ends it.
    private func startLoad(_ key: Key, stale: Stored?, in state: inout State) -> Slot {
        state.nextLoad &+= 1
        let id = state.nextLoad
        let task = Task<Value?, any Error> { [load, policy] in
            do {
                let value = try await Deadline.run(policy.loadTimeout) { try await load(key) }
                finish(key, id: id, with: .success(value))
                return value
            } catch {
                finish(key, id: id, with: .failure(error))
                throw error
            }
        }
        return .loading(id: id, task, stale: stale)
    }

    /// Keeps what load `id` found, unless the entry was dropped (or loaded again) meanwhile.
    private func finish(_ key: Key, id: UInt64, with result: Result<Value?, any Error>) {
        let instant = now()
        state.withLock { state in
            guard case .loading(let current, _, let stale)? = state.slots[key], current == id else { return }
            switch result {
            case .success(let value?):
                state.slots[key] = .stored(
                    Stored(
                        value: value, freshUntil: instant + policy.timeToLive,
                        usableUntil: instant + policy.timeToLive + policy.staleFor))
            case .success(nil):
                let until = instant + policy.negativeTimeToLive
                state.slots[key] = .stored(Stored(value: nil, freshUntil: until, usableUntil: until))
            case .failure:
                if let stale, instant < stale.usableUntil {
                    state.slots[key] = .stored(
                        Stored(
                            value: stale.value, freshUntil: min(instant + policy.timeToLive, stale.usableUntil),
                            usableUntil: stale.usableUntil))
                } else {
                    state.slots.removeValue(forKey: key)
                }
            }
        }
    }

    /// At capacity, drops kept entries down to three quarters of it: unusable ones, then "no such
    /// thing", then any. Each sweep costs O(capacity) and buys a quarter of it in inserts.
    private func makeRoom(in state: inout State, at instant: Instant) {
        guard state.slots.count >= policy.capacity else { return }
        let target = policy.capacity * 3 / 4
        let passes: [(Stored) -> Bool] = [
            { instant >= $0.usableUntil },
            { $0.value == nil },
            { _ in true },
        ]
        for droppable in passes where state.slots.count > target {
            var excess = state.slots.count - target
            state.slots = state.slots.filter { _, slot in
                guard excess > 0, case .stored(let stored) = slot, droppable(stored) else { return true }
                excess -= 1
                return false
            }
        }
    }
}

/// How long a `SingleFlightCache` keeps what it loaded, and how much of it.
public struct CachePolicy: Sendable {
    public var capacity: Int
    /// How long a loaded value is answered without asking again.
    public var timeToLive: Duration
    /// How long after `timeToLive` a value is still answered while a refresh runs.
    public var staleFor: Duration
    /// How long "no such thing" is answered without asking again.
    public var negativeTimeToLive: Duration
    public var loadTimeout: Duration

    public init(
        capacity: Int, timeToLive: Duration, staleFor: Duration, negativeTimeToLive: Duration,
        loadTimeout: Duration
    ) {
        precondition(capacity > 0, "a cache holds at least one entry")
        self.capacity = capacity
        self.timeToLive = timeToLive
        self.staleFor = staleFor
        self.negativeTimeToLive = negativeTimeToLive
        self.loadTimeout = loadTimeout
    }
}
