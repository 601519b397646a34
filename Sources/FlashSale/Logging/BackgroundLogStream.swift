import Foundation
import Synchronization

/// A log destination that never blocks its caller: lines are appended to a bounded buffer, and a
/// thread of its own writes them to the file descriptor (standard error by default).
///
/// The service logs from its event loops, and a write to a pipe that its reader has stopped
/// draining (a terminal paused, a log collector behind) blocks until there is room: every
/// connection of that loop would stall with it. Here, a line that finds the buffer full is dropped
/// and counted instead, and a notice after the lines that made it says how many were lost. Its
/// thread lives as long as the process.
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

    /// The thread's loop, for the life of the process (the service has one stream, made at start).
    private func writeForever() {
        // Swapped with the pending buffer, so loggers never wait on a copy of it.
        var batch: [UInt8] = []
        while true {
            wake.wait()
            while let dropped = take(into: &batch) {
                if dropped > 0 {
                    batch.append(contentsOf: "flashsale: \(dropped) log lines dropped: the log output was not keeping up\n".utf8)
                }
                Self.writeAll(batch, to: descriptor)
                batch.removeAll(keepingCapacity: true)
                state.withLock { $0.writing = false }
            }
        }
    }

    /// Swaps everything pending into `batch` (empty) and returns how many lines were dropped after
    /// it; nil when there is nothing to write.
    private func take(into batch: inout [UInt8]) -> Int? {
        state.withLock { state in
            guard !state.pending.isEmpty || state.dropped > 0 else { return nil }
            swap(&batch, &state.pending)
            defer { state.dropped = 0 }
            state.writing = true
            return state.dropped
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
                } else if written < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                    // A non-blocking descriptor (some supervisors hand one down): wait until it has room.
                    var ready = pollfd(fd: descriptor, events: Int16(POLLOUT), revents: 0)
                    _ = poll(&ready, 1, 1000)
                } else {
                    return  // closed or broken: nothing more can be written there
                }
            }
        }
    }
}
