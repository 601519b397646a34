/// Retries `body` for up to ~10 s (the machine may be busy with other tests): reconnects back off after failures, so the first tries may fail fast.
public func eventually<T>(_ body: () async throws -> T) async throws -> T {
    var lastError: (any Error)?
    for _ in 0..<200 {
        do { return try await body() } catch { lastError = error }
        try await Task.sleep(for: .milliseconds(50))
    }
    throw lastError!
}

/// Waits, as `eventually` does, until `condition` holds; throws if it never does.
public func waitUntil(_ condition: () async throws -> Bool) async throws {
    try await eventually {
        guard try await condition() else { throw ConditionNotMet() }
    }
}

struct ConditionNotMet: Error {}
