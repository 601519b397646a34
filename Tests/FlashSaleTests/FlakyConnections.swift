import FlashSale
import PostgresNIO
import Synchronization

/// Real PostgreSQL connections from the pool, with faults injected at the client's edge, where a
/// network or a server restart puts them: a statement that ran but whose reply was lost, or one
/// that never left. Everything that does reach PostgreSQL really runs there.
final class FlakyConnections: PostgresConnectionSource {
    enum Fault {
        /// The body runs (and commits), then the connection is lost before its reply arrives.
        case replyLost
        /// The connection is lost before the body sends anything.
        case neverSent
    }

    struct ConnectionLost: Error {}

    private let pool: PostgresClient
    /// One fault per use, in order; later uses work.
    private let faults: Mutex<[Fault]>

    init(pool: PostgresClient, faults: [Fault]) {
        self.pool = pool
        self.faults = Mutex(faults)
    }

    func using<Result>(_ body: (PostgresConnection) async throws -> Result) async throws -> Result {
        let fault = faults.withLock { $0.isEmpty ? nil : $0.removeFirst() }
        switch fault {
        case .neverSent?:
            throw ConnectionLost()
        case .replyLost?:
            _ = try await pool.using(body)
            throw ConnectionLost()
        case nil:
            return try await pool.using(body)
        }
    }
}
