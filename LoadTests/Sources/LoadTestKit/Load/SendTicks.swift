import NIOCore
import NIOPosix

/// The schedule runs on a grid of 1 ms ticks (counted from the run's start): the generator wakes
/// once per tick and sends everything due in it, instead of once per request, because on this
/// 2-core VM a wake-up costs as much as a request's work. A request's latency counts from its
/// tick, so the grid adds nothing to it; any lateness past the tick does count.
enum SendTicks {
    static let tick = Duration.milliseconds(1)

    /// The first tick at or after `due`.
    static func tick(at due: ContinuousClock.Instant, origin: ContinuousClock.Instant) -> ContinuousClock.Instant {
        guard due > origin else { return due }
        return origin + tick * ((due - origin) / tick).rounded(.up)
    }

    /// Sleeps until the tick of `due`, unless it has passed; returns that tick.
    @discardableResult
    static func wait(until due: ContinuousClock.Instant, origin: ContinuousClock.Instant) async -> ContinuousClock.Instant {
        let scheduled = tick(at: due, origin: origin)
        let delay = scheduled - .now
        if delay > .zero {
            let (seconds, attoseconds) = delay.components
            let loop = MultiThreadedEventLoopGroup.singleton.any()
            try? await loop.scheduleTask(in: .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)) {}.futureResult
                .get()
        }
        return scheduled
    }
}
