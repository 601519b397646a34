import FlashSale
import Foundation
import Testing

@Suite("Deadline: bounds a wait, and costs nothing once the operation is done")
struct DeadlineTests {
    @Test func anOperationFasterThanItsDeadlineAnswers() async throws {
        #expect(try await Deadline.run(.seconds(5)) { 42 } == 42)
    }

    @Test func aSlowOperationIsCancelledAtItsDeadline() async throws {
        let started = ContinuousClock.now
        let error = await #expect(throws: Deadline.Exceeded.self) {
            try await Deadline.run(.milliseconds(50)) {
                try await Task.sleep(for: .seconds(30))
                return 1
            }
        }
        #expect(error?.timeout == .milliseconds(50))
        // Far below the 30 s of the operation: it was cancelled, not waited for.
        #expect(ContinuousClock.now - started < .seconds(20))
    }

    @Test func aCancelledCallerIsNotKeptWaiting() async throws {
        let task = Task { try await Deadline.run(.seconds(30)) { try await Task.sleep(for: .seconds(30)) } }
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
    }

    /// Every read of the service runs under a deadline. Its timer used to be a `Task.sleep`, which
    /// once cancelled keeps its memory until the deadline would have come: a few hundred bytes per
    /// request for seconds (and per query for a minute in the PostgreSQL pool's case).
    @Test func deadlinesNotReachedHoldNoMemory() async throws {
        // A first round grows the allocators' caches and the loops' timer queues to their working size.
        for round in 0..<10_000 { _ = try await Deadline.run(.seconds(120)) { round } }
        let before = try Self.residentKilobytes()
        for round in 0..<50_000 { _ = try await Deadline.run(.seconds(120)) { round } }
        let grown = try Self.residentKilobytes() - before
        // A timer kept per call would be about 28 MB here (570 bytes each, measured).
        #expect(grown < 10_000, "RSS grew \(grown) kB over 50,000 deadlines")
    }

    static func residentKilobytes() throws -> Int {
        let status = try String(contentsOfFile: "/proc/self/status", encoding: .utf8)
        let line = try #require(status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") })
        return try #require(Int(line.split(separator: " ", omittingEmptySubsequences: true)[1]))
    }
}
