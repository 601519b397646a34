/// Runs the jobs of one kind. A handler must be idempotent: a job that runs twice (its worker died
/// after the effect, before recording it) has its effect once.
public protocol JobHandler: Sendable {
    var kind: String { get }
    /// Runs a batch of this kind's jobs, all leased to this worker; one outcome per job, in order.
    func run(_ jobs: [LeasedJob]) async -> [JobOutcome]
}

/// A handler whose jobs are independent: each runs on its own, up to `concurrency` at a time.
public protocol SingleJobHandler: JobHandler {
    var concurrency: Int { get }
    /// Returns normally when done; throws ``JobFailure`` to choose the outcome, anything else to retry.
    func run(_ job: LeasedJob) async throws -> JobOutcome
}

extension SingleJobHandler {
    public var concurrency: Int { 16 }

    public func run(_ jobs: [LeasedJob]) async -> [JobOutcome] {
        await withTaskGroup(of: (Int, JobOutcome).self) { group in
            var outcomes = [JobOutcome](repeating: .done, count: jobs.count)
            var next = 0
            func start() {
                let index = next
                next += 1
                group.addTask { (index, await Self.outcome(of: { try await run(jobs[index]) })) }
            }
            while next < min(concurrency, jobs.count) { start() }
            for await (index, outcome) in group {
                outcomes[index] = outcome
                if next < jobs.count { start() }
            }
            return outcomes
        }
    }

    static func outcome(of body: () async throws -> JobOutcome) async -> JobOutcome {
        do {
            return try await body()
        } catch let failure as JobFailure {
            switch failure {
            case .permanent(let reason): return .dead(reason)
            case .retry(let reason, let after): return .failed(reason, after: after)
            }
        } catch {
            return .failed(String(describing: error))
        }
    }
}

/// A job kind no handler knows (a newer service wrote it, or a typo): kept, dead, for an operator.
struct UnknownKindHandler: JobHandler {
    let kind: String

    func run(_ jobs: [LeasedJob]) async -> [JobOutcome] {
        jobs.map { .dead("no handler for job kind \($0.kind)") }
    }
}

/// `noop` jobs: nothing to do. The benchmark measures the queue itself with them.
public struct NoopJobHandler: JobHandler {
    public let kind = "noop"

    public init() {}

    public func run(_ jobs: [LeasedJob]) async -> [JobOutcome] {
        jobs.map { _ in .done }
    }
}
