import FlashSale
import Foundation
import Logging
import PostgresNIO
import RedisClient
import ServiceLifecycle
import Synchronization

/// `flashsale worker`: lanes that lease and run jobs, and the periodic chores beside them (leases
/// of dead workers taken back, finished jobs pruned, the ledger swept, lost sales re-primed, queue
/// gauges). Several may run at once, on one machine or many. On graceful shutdown it stops leasing,
/// finishes the batches it holds, and stops.
public final class Worker: Service, Sendable {
    public struct Settings: Sendable {
        public var leaseDuration: Duration = .seconds(30)
        /// Leasing loops per kind, and jobs per lease. More loops overlap PostgreSQL round trips.
        public var lanes: [Lane] = [
            Lane(kind: "order_expiry", loops: 2, batch: 100),
            Lane(kind: "redis_release", loops: 1, batch: 100),
            // A batch is one round of the handler's concurrency, so it ends well within its lease
            // even when every send waits for a permit and then times out.
            Lane(kind: "email", loops: 2, batch: 8),
            Lane(kind: "payment_check", loops: 1, batch: 16),
            Lane(kind: "noop", loops: 4, batch: 100),
        ]
        /// How long an idle loop waits before asking again: the first wait, doubling while the
        /// lane stays empty up to the longest.
        public var idlePoll: Duration = .milliseconds(100)
        public var longestIdlePoll: Duration = .seconds(1)
        public var sweepInterval: Duration = .seconds(5)
        public var ledgerAge: Duration = .seconds(30)
        public var reprimeInterval: Duration = .seconds(2)
        public var pruneAfter: Duration = .seconds(3600)
        public var gaugeInterval: Duration = .seconds(5)

        public init() {}
    }

    public struct Lane: Sendable {
        public var kind: String
        public var loops: Int
        public var batch: Int

        public init(kind: String, loops: Int, batch: Int) {
            self.kind = kind
            self.loops = loops
            self.batch = batch
        }
    }

    let settings: Settings
    let queue: JobQueue
    let handlers: [String: any JobHandler]
    let sweep: LedgerSweep
    let repriming: StockRepriming
    let metrics: WorkerMetrics
    let postgres: PostgresClient
    let logger: Logger
    private let stopping = Atomic<Bool>(false)
    /// Kinds the queue gauges report: every lane's, and any other seen since the start.
    private let gaugedKinds: Mutex<Set<String>>

    public init(
        settings: Settings, postgres: PostgresClient, redis: RedisClient, handlers: [any JobHandler],
        metrics: WorkerMetrics = WorkerMetrics(), logger: Logger
    ) {
        self.settings = settings
        self.postgres = postgres
        queue = JobQueue(postgres: postgres, leaseDuration: settings.leaseDuration, logger: logger)
        self.handlers = Dictionary(handlers.map { ($0.kind, $0) }, uniquingKeysWith: { first, _ in first })
        sweep = LedgerSweep(postgres: postgres, redis: redis, age: settings.ledgerAge, logger: logger)
        repriming = StockRepriming(postgres: postgres, redis: redis, owner: queue.owner, logger: logger)
        self.metrics = metrics
        self.logger = logger
        gaugedKinds = Mutex(Set(settings.lanes.map(\.kind)))
    }

    /// The handlers of every kind the service writes, with e-mail going to `sender` and lost payment
    /// answers asked of `gateway` (the service's, with the service's `payments` settings).
    public static func standardHandlers(
        postgres: PostgresClient, redis: RedisClient, email: EmailJobHandler,
        gateway: any PaymentGateway = SandboxPaymentGateway(), payments: PaymentSettings = PaymentSettings(),
        logger: Logger
    ) -> [any JobHandler] {
        let reservations = StockReservations(redis: redis)
        return [
            OrderExpiryHandler(postgres: postgres, reservations: reservations, logger: logger),
            RedisReleaseHandler(reservations: reservations),
            email,
            PaymentCheckHandler(
                settlement: PaymentSettlement(postgres: postgres, gateway: gateway, settings: payments, logger: logger)),
            NoopJobHandler(),
        ]
    }

    public func run() async {
        logger.notice("worker started", metadata: ["owner": "\(queue.owner)"])
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { chores in
                chores.addTask { await self.chores() }
                await withTaskGroup(of: Void.self) { lanes in
                    for lane in settings.lanes where lane.loops > 0 {
                        for _ in 0..<lane.loops { lanes.addTask { await self.leaseLoop(kind: lane.kind, batch: lane.batch) } }
                    }
                    // Kinds no lane serves: dead, with their reason, for an operator. Rarely: its lease
                    // cannot use `jobs_due` (kind, run_at) and reads every pending job.
                    lanes.addTask { await self.leaseLoop(kind: nil, batch: 100, idle: .seconds(60)) }
                }
                chores.cancelAll()
            }
        } onGracefulShutdown: {
            self.stopping.store(true, ordering: .relaxed)
        }
        logger.notice("worker stopped", metadata: ["owner": "\(queue.owner)"])
    }

    /// Stops leasing; the batches held are finished. (Tests and embedders; the command uses signals.)
    public func stop() {
        stopping.store(true, ordering: .relaxed)
    }

    var isStopping: Bool { stopping.load(ordering: .relaxed) }

    private func leaseLoop(kind: String?, batch: Int, idle: Duration? = nil) async {
        let known = settings.lanes.map(\.kind)
        var wait = idle ?? settings.idlePoll
        // Cancelled (the service group failed: a port taken, a client ended): stop, not spin.
        while !isStopping && !Task.isCancelled {
            do {
                let jobs = try await queue.lease(limit: batch, kind: kind, excluding: known)
                if jobs.isEmpty {
                    await pause(wait)
                    wait = idle ?? min(wait * 2, max(settings.longestIdlePoll, settings.idlePoll))
                    continue
                }
                wait = idle ?? settings.idlePoll
                let handler = kind.flatMap { handlers[$0] } ?? UnknownKindHandler(kind: kind ?? "?")
                let outcomes = await runRenewingLeases(jobs, handler)
                let now = Date()
                for (job, outcome) in zip(jobs, outcomes) { metrics.finished(job, outcome, at: now) }
                try await queue.record(Array(zip(jobs, outcomes)).map { (job: $0.0, outcome: $0.1) })
            } catch is CancellationError {
                return
            } catch {
                if Task.isCancelled { return }
                logger.error(
                    "job lane failed; retrying",
                    metadata: ["kind": "\(kind ?? "other")", "error": "\(PostgresErrorText.describe(error))"])
                await pause(.seconds(1))
            }
        }
    }

    /// Runs the batch while renewing its leases every third of the lease, so a slow batch (e-mails
    /// waiting for permits, an expiry waiting for a lock) is never taken over by another worker
    /// while it runs, and a short lease still hands a dead worker's jobs on quickly.
    private func runRenewingLeases(_ jobs: [LeasedJob], _ handler: any JobHandler) async -> [JobOutcome] {
        await withTaskGroup(of: [JobOutcome]?.self) { group in
            group.addTask { await handler.run(jobs) }
            group.addTask {
                while true {
                    do { try await Task.sleep(for: self.settings.leaseDuration / 3) } catch { return nil }
                    do {
                        try await self.queue.renew(jobs)
                    } catch {
                        self.logger.warning("lease renewal failed", metadata: ["error": "\(PostgresErrorText.describe(error))"])
                    }
                }
            }
            var outcomes: [JobOutcome] = []
            for await result in group {
                if let result {
                    outcomes = result
                    group.cancelAll()
                }
            }
            return outcomes
        }
    }

    /// Sleeps up to `duration`, waking early when the worker stops.
    private func pause(_ duration: Duration) async {
        let step = Duration.milliseconds(100)
        var left = duration
        while left > .zero && !isStopping {
            do { try await Task.sleep(for: min(step, left)) } catch { return }
            left -= step
        }
    }

    private func chores() async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await self.every(self.settings.leaseDuration / 3, "lease reclaim") {
                    _ = try await self.queue.reclaimExpiredLeases()
                }
            }
            group.addTask {
                await self.every(.seconds(60), "prune") {
                    _ = try await self.queue.pruneFinished(olderThan: self.settings.pruneAfter)
                }
            }
            group.addTask {
                await self.every(self.settings.sweepInterval, "ledger sweep") {
                    let outcome = try await self.sweep.sweepAll()
                    self.metrics.ledgerSwept(finalized: outcome.finalized, givenBack: outcome.givenBack)
                }
            }
            group.addTask {
                await self.every(self.settings.reprimeInterval, "re-priming") {
                    for _ in try await self.repriming.run() { self.metrics.reprimed() }
                }
            }
            group.addTask { await self.every(self.settings.gaugeInterval, "queue gauges") { try await self.recordGauges() } }
        }
    }

    /// Runs `chore` now and then every `interval` until cancelled; a failure is logged, not fatal.
    private func every(_ interval: Duration, _ name: String, _ chore: @Sendable () async throws -> Void) async {
        while !Task.isCancelled {
            do {
                try await chore()
            } catch is CancellationError {
                return
            } catch {
                if Task.isCancelled { return }
                logger.warning("\(name) failed", metadata: ["error": "\(PostgresErrorText.describe(error))"])
            }
            do { try await Task.sleep(for: interval) } catch { return }
        }
    }

    /// Every kind's count in every status, zero included: a gauge left at its last non-zero value
    /// would keep a "dead jobs" alert firing after the queue emptied.
    private func recordGauges() async throws {
        let overview = try await JobsOverview(postgres: postgres, logger: logger).counts()
        let kinds = gaugedKinds.withLock { kinds in
            kinds.formUnion(overview.counts.map(\.kind))
            return kinds
        }
        for kind in kinds {
            for status in JobsOverview.statuses {
                let count = overview.counts.first { $0.kind == kind && $0.status == status }?.count ?? 0
                metrics.queueDepth(kind: kind, status: status, count: count)
            }
        }
        metrics.oldestDueAge(seconds: overview.oldestDueAge ?? 0)
    }
}
