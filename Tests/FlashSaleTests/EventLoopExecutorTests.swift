import FlashSale
import NIOCore
import NIOPosix
import Testing

@Suite("EventLoopExecutor: tasks that stay on their event loop")
struct EventLoopExecutorTests {
    @Test func aTaskPreferringALoopRunsOnItAcrossAwaits() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let home = group.next()
        let other = group.next()
        #expect(home !== other)
        let stayed = await withTaskExecutorPreference(EventLoopExecutor.of(home)) { () -> [Bool] in
            var seen = [home.inEventLoop]
            await Task.yield()
            seen.append(home.inEventLoop)
            // A future completed on another loop resumes this task back on its own.
            _ = try? await other.scheduleTask(in: .milliseconds(5)) { 1 }.futureResult.get()
            seen.append(home.inEventLoop)
            // An unstructured task does not inherit it (the committer passes it on explicitly);
            // a child task does.
            seen.append(await Task { home.inEventLoop }.value == false)
            seen.append(
                await withTaskGroup(of: Bool.self) { tasks in
                    tasks.addTask { home.inEventLoop }
                    return await tasks.next() ?? false
                })
            return seen
        }
        #expect(stayed == [true, true, true, true, true])
        try await group.shutdownGracefully()
    }

    @Test func oneExecutorPerLoopAndCurrentOnlyOnALoop() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()
        #expect(EventLoopExecutor.of(loop) === EventLoopExecutor.of(loop))
        #expect(EventLoopExecutor.current == nil)
        let onLoop = try await loop.submit { EventLoopExecutor.current }.get()
        #expect(onLoop === EventLoopExecutor.of(loop))
        try await group.shutdownGracefully()
    }
}
