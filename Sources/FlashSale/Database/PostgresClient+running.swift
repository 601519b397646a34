import PostgresNIO

extension PostgresClient {
    /// Runs the pool for as long as `body` takes, for commands and tests that are not a long-lived service.
    public func whileRunning<Result: Sendable>(_ body: @Sendable (PostgresClient) async throws -> Result)
        async throws -> Result
    {
        try await withThrowingTaskGroup(of: Result?.self) { group in
            group.addTask {
                await self.run()
                return nil
            }
            defer { group.cancelAll() }
            return try await body(self)
        }
    }
}
