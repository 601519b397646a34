import Foundation
import Synchronization

/// A log destination that never blocks its caller: lines are appended to a bounded buffer, and a
/// thread of its own writes them to the file descriptor (standard error by default).
///
/// The service logs from its event loops, and a write to a pipe that its reader has stopped
/// draining (a terminal paused, a log collector behind) blocks until there is room: every
/// connection of that loop would stall with it. Here, a line that finds the buffer full is dropped
/// and counted instead, and the next write says how many were lost.
public final class BackgroundLogStream: TextOutputStream, Sendable {
    public static let defaultCapacity = 1 << 20

    private struct State {
        var pending: [UInt8] = []
        var dropped = 0
        /// The writer thread holds a batch it took and has not finished writing.
        var writing = false
    }

    private let descriptor: Int32
    private let capacity: Int
    private let state = Mutex(State())
    private let wake = DispatchSemaphore(value: 0)

    /// - Parameters:
    ///   - descriptor: where lines go; the writer thread may block on it, its callers never do.
    ///   - capacity: bytes held at most while the descriptor does not keep up.
    public init(descriptor: Int32 = STDERR_FILENO, capacity: Int = BackgroundLogStream.defaultCapacity) {
        self.descriptor = descriptor
        self.capacity = capacity
        let thread = Thread { [self] in writeForever() }
        thread.name = "log-writer"
        thread.start()
    }

    public func write(_ string: String) {
        let wasIdle = state.withLock { state -> Bool in
            let wasIdle = state.pending.isEmpty
            if state.pending.count + string.utf8.count <= capacity {
                state.pending.append(contentsOf: string.utf8)
            } else {
                state.dropped += 1
            }
            return wasIdle
        }
        if wasIdle { wake.signal() }
    }

    /// Waits until everything buffered has been written, or `timeout` passed (a descriptor nobody
    /// reads must not hold up an exit). Returns whether everything was written.
    @discardableResult
    public func flush(timeout: Duration = .seconds(2)) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if state.withLock({ $0.pending.isEmpty && !$0.writing && $0.dropped == 0 }) { return true }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return false
    }

    private func writeForever() {
        while true {
            wake.wait()
            while let batch = take() {
                Self.writeAll(batch, to: descriptor)
                state.withLock { $0.writing = false }
            }
        }
    }

    /// Everything pending, preceded by a notice of the lines dropped since the last batch.
    private func take() -> [UInt8]? {
        state.withLock { state in
            guard !state.pending.isEmpty || state.dropped > 0 else { return nil }
            var batch: [UInt8] = []
            if state.dropped > 0 {
                batch.append(contentsOf: "flashsale: \(state.dropped) log lines dropped: the log output was not keeping up\n".utf8)
                state.dropped = 0
            }
            batch.append(contentsOf: state.pending)
            state.pending.removeAll(keepingCapacity: true)
            state.writing = true
            return batch
        }
    }

    private static func writeAll(_ bytes: [UInt8], to descriptor: Int32) {
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = Foundation.write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                if written > 0 {
                    offset += written
                } else if written < 0 && errno == EINTR {
                    continue
                } else {
                    return  // closed or broken: nothing more can be written there
                }
            }
        }
    }
}
