import FlashSale
import Foundation
import Testing

@Suite("BackgroundLogStream: logging never blocks on its output")
struct BackgroundLogStreamTests {
    /// A pipe nobody reads fills after 64 KiB; a plain write would then block its caller until
    /// someone reads. Here the caller goes on, the surplus is dropped and counted, and once a reader
    /// is back it gets the lines that fitted and notices of how many did not: every line is either
    /// delivered or counted.
    @Test(.timeLimit(.minutes(1))) func aPipeNobodyReadsDropsLinesInsteadOfBlocking() async throws {
        let pipe = Pipe()
        let stream = BackgroundLogStream(descriptor: pipe.fileHandleForWriting.fileDescriptor, capacity: 16 * 1024)
        let line = String(repeating: "x", count: 99) + "\n"
        // 2 MB, twenty times what the pipe and the buffer hold together; nobody reads yet.
        for index in 0..<20_000 { stream.write(index == 0 ? "first\n" : line) }

        let reader = Task.detached { pipe.fileHandleForReading.readDataToEndOfFile() }
        #expect(await stream.flush(timeout: .seconds(30)))
        try pipe.fileHandleForWriting.close()
        let lines = String(decoding: await reader.value, as: UTF8.self).split(separator: "\n")
        let notices = lines.filter { $0.contains("log lines dropped") }
        let dropped = notices.compactMap { Int($0.split(separator: " ")[1]) }.reduce(0, +)
        #expect(lines.contains("first"))
        #expect(dropped > 10_000, "\(notices)")
        #expect(lines.count - notices.count + dropped == 20_000)
    }

    @Test func flushWaitsUntilEveryLineIsOut() async throws {
        let pipe = Pipe()
        let stream = BackgroundLogStream(descriptor: pipe.fileHandleForWriting.fileDescriptor)
        for index in 0..<100 { stream.write("line \(index)\n") }
        #expect(await stream.flush())
        try pipe.fileHandleForWriting.close()
        let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(text.split(separator: "\n").count == 100)
        #expect(text.hasSuffix("line 99\n"))
    }
}
