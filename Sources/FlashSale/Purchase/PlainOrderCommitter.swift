/// One transaction per order. Correct, but every winner of a hot SKU contends for the same
/// inventory row; kept as the reference the coalescing committer is measured against.
public struct PlainOrderCommitter: OrderCommitter {
    let writer: OrderBatchWriter

    public init(writer: OrderBatchWriter) {
        self.writer = writer
    }

    public func commit(_ order: PendingOrder) async throws -> Order {
        try await writer.write([order])[0]
    }
}
