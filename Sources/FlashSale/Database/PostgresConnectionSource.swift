import PostgresNIO

/// Where a writer gets a PostgreSQL connection for one unit of work: the shared pool, or
/// connections kept for that writer alone (``OrderWriteConnections``).
public protocol PostgresConnectionSource: Sendable {
    func using<Result>(_ body: (PostgresConnection) async throws -> Result) async throws -> Result
}

extension PostgresClient: PostgresConnectionSource {
    /// A connection leased from the pool for the body's duration.
    public func using<Result>(_ body: (PostgresConnection) async throws -> Result) async throws -> Result {
        try await withConnection(body)
    }
}
