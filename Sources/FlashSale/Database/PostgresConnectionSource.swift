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

/// No connection could be had for a unit of work, so none of it reached PostgreSQL: the writer
/// may answer at once, and give back what it holds, without asking PostgreSQL what it kept.
public struct PostgresConnectionUnavailable: Error, CustomStringConvertible {
    public let underlying: any Error

    public init(underlying: any Error) {
        self.underlying = underlying
    }

    public var description: String {
        "no PostgreSQL connection for order writes: \(PostgresErrorText.describe(underlying))"
    }
}
