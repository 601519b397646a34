import NIOCore
import NIOPosix
import Synchronization

/// A NIO event loop as a Swift task executor. A task that prefers it runs on the loop's thread, so
/// when it awaits I/O of a channel on the same loop, the reply resumes it without waking another
/// thread. On this kind of machine a wake-up costs tens of microseconds of CPU and up to a few
/// hundred of latency, and a purchase used to make about ten of them.
public final class EventLoopExecutor: TaskExecutor {
    public let eventLoop: any EventLoop

    private init(_ eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        eventLoop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }

    /// One executor per loop, made on first use: tasks are started per connection and per batch.
    private static let known = Mutex<[ObjectIdentifier: EventLoopExecutor]>([:])

    public static func of(_ eventLoop: any EventLoop) -> EventLoopExecutor {
        known.withLock { known in
            let key = ObjectIdentifier(eventLoop)
            if let executor = known[key] { return executor }
            let executor = EventLoopExecutor(eventLoop)
            known[key] = executor
            return executor
        }
    }

    /// The executor of the event loop this code runs on, if it runs on one.
    public static var current: EventLoopExecutor? {
        MultiThreadedEventLoopGroup.currentEventLoop.map(of)
    }
}
