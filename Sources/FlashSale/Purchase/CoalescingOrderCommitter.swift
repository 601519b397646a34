import Synchronization

/// Group commit per SKU: while one transaction for a SKU is in flight, the winners that arrive
/// queue up, and the next transaction commits all of them with one versioned update of the
/// inventory row. A lone order is written at once (no waiting for company), so latency is never
/// traded for throughput; under a spike, batches grow by themselves and the row sees one update
/// per batch instead of one per order, so optimistic locking stops collapsing into retries.
public final class CoalescingOrderCommitter: OrderCommitter {
    public static let defaultMaximumBatch = 256

    private struct Waiter: Sendable {
        let order: PendingOrder
        let continuation: CheckedContinuation<Order, any Error>
    }

    private struct Key: Hashable, Sendable {
        let saleID: String
        let sku: String
    }

    private struct State: Sendable {
        var queues: [Key: [Waiter]] = [:]
        /// SKUs with a flusher running; at most one per SKU in this process.
        var flushing: Set<Key> = []
        /// The inventory row's version after the last batch of each SKU, kept across flushers: a
        /// flusher ends whenever its queue empties (between almost every batch below full load), and
        /// without it each new flusher would first spend a round trip reading the row. Usually still
        /// current; a stale one (another writer moved the row) costs one re-read.
        var versions: [Key: Int64] = [:]
    }

    private let writer: OrderBatchWriter
    private let maximumBatch: Int
    private let state = Mutex(State())

    public init(writer: OrderBatchWriter, maximumBatch: Int = CoalescingOrderCommitter.defaultMaximumBatch) {
        self.writer = writer
        self.maximumBatch = maximumBatch
    }

    public func commit(_ order: PendingOrder) async throws -> Order {
        let key = Key(saleID: order.saleID, sku: order.sku)
        return try await withCheckedThrowingContinuation { continuation in
            let startFlusher = state.withLock { state in
                state.queues[key, default: []].append(Waiter(order: order, continuation: continuation))
                return state.flushing.insert(key).inserted
            }
            if startFlusher {
                // On the caller's event loop, where ``OrderWriteConnections`` has a connection: the
                // batch's reply then resumes the flusher on the thread that reads it.
                Task(executorPreference: EventLoopExecutor.current) { await self.flush(key) }
            }
        }
    }

    private func flush(_ key: Key) async {
        var version: Int64?
        while let (batch, known) = nextBatch(key, after: version) {
            do {
                let written = try await writer.write(batch.map(\.order), expectedVersion: known)
                version = written.version
                for (waiter, order) in zip(batch, written.orders) { waiter.continuation.resume(returning: order) }
            } catch {
                version = await recover(batch, after: error)
            }
        }
    }

    /// Takes up to `maximumBatch` waiters and the version to expect, or ends this flusher when the
    /// queue is empty. `version` is what the previous batch left (nil: unknown, read it).
    /// Waiters whose write window passed while they queued are failed here, not written.
    private func nextBatch(_ key: Key, after version: Int64?) -> (batch: [Waiter], version: Int64?)? {
        let now = ContinuousClock.now
        let (next, late): ((batch: [Waiter], version: Int64?)?, [Waiter]) = state.withLock { state in
            let known = version ?? state.versions[key]
            var late: [Waiter] = []
            var queue = state.queues[key] ?? []
            while let first = queue.first, first.order.writeBy <= now {
                late.append(first)
                queue.removeFirst()
            }
            guard !queue.isEmpty else {
                state.queues[key] = nil
                state.flushing.remove(key)
                state.versions[key] = known
                return (nil, late)
            }
            let batch = Array(queue.prefix(maximumBatch))
            state.queues[key] = Array(queue.dropFirst(batch.count))
            return ((batch, known), late)
        }
        for waiter in late { waiter.continuation.resume(throwing: OrderBatchWriter.WriteError.writeWindowPassed) }
        return next
    }

    /// A failed batch. When PostgreSQL refused it, nothing was written, and it is retried order by
    /// order so that one bad order cannot fail its neighbours; when no connection could be had, or
    /// the write waited too long for the row's lock, every order fails with it (a retry would meet
    /// the same closed door, or wait as long again for each order).
    /// Otherwise it may have committed with its reply lost, so PostgreSQL is asked before anyone is
    /// answered: answering 503 for a committed order would give its units back in Redis and sell
    /// them twice. Returns the row's version when it is known.
    private func recover(_ batch: [Waiter], after error: any Error) async -> Int64? {
        guard OrderBatchWriter.wroteNothing(error) else { return await settle(batch, after: error) }
        guard batch.count > 1, !Self.failsEveryOrder(error) else {
            for waiter in batch { waiter.continuation.resume(throwing: error) }
            return nil
        }
        var version: Int64?
        for (index, waiter) in batch.enumerated() {
            do {
                let written = try await writer.write([waiter.order], expectedVersion: version)
                version = written.version
                waiter.continuation.resume(returning: written.orders[0])
            } catch let error where Self.failsEveryOrder(error) {
                // The door closed (or a lock came) halfway through: the rest would meet it too.
                for waiter in batch[index...] { waiter.continuation.resume(throwing: error) }
                return nil
            } catch {
                version = await recover([waiter], after: error)
            }
        }
        return version
    }

    /// Errors that every order of a batch would meet alone as well: no connection to be had, or a
    /// lock held past the lock timeout.
    private static func failsEveryOrder(_ error: any Error) -> Bool {
        error is PostgresConnectionUnavailable || OrderBatchWriter.waitedTooLong(error)
    }

    /// Answers a batch whose write ended without a reply from what PostgreSQL holds: the committed
    /// orders as committed, the others with the write's error; if PostgreSQL cannot be asked,
    /// everyone with ``OrderOutcomeUnknown``.
    private func settle(_ batch: [Waiter], after error: any Error) async -> Int64? {
        do {
            let settled = try await writer.settle(batch.map(\.order))
            for waiter in batch {
                if let order = settled.orders[waiter.order.id] {
                    waiter.continuation.resume(returning: order)
                } else {
                    waiter.continuation.resume(throwing: error)
                }
            }
            return settled.version
        } catch {
            for waiter in batch { waiter.continuation.resume(throwing: OrderOutcomeUnknown(underlying: error)) }
            return nil
        }
    }
}
