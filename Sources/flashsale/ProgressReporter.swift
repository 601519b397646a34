import FlashSale
import Foundation
import Synchronization

/// Progress of a long seed on standard error: a bar redrawn in place on a terminal, plain lines at
/// every tenth otherwise (logs and CI keep a readable record).
final class ProgressReporter: SeedProgress {
    private struct State {
        var phase: SeedPhase?
        var lastDraw = ContinuousClock.now - .seconds(1)
        var lastTenth = -1
        var barOpen = false
    }

    private let label: String
    private let isTerminal: Bool
    private let state = Mutex(State())

    init(label: String, isTerminal: Bool = isatty(STDERR_FILENO) == 1) {
        self.label = label
        self.isTerminal = isTerminal
    }

    /// Small inputs finish before a bar would help; below this many units (bytes or rows) stay quiet.
    static let threshold: Int64 = 100_000

    func report(_ phase: SeedPhase, done: Int64, total: Int64) {
        guard total >= Self.threshold else { return }
        let fraction = total > 0 ? min(1, Double(done) / Double(total)) : 1
        let text = "\(description(phase)) \(Int(fraction * 100))%"
        let output: String? = state.withLock { state in
            let phaseChanged = state.phase != phase
            if phaseChanged {
                state.phase = phase
                state.lastTenth = -1
            }
            if isTerminal {
                let now = ContinuousClock.now
                guard phaseChanged || fraction >= 1 || now - state.lastDraw >= .milliseconds(100) else { return nil }
                state.lastDraw = now
                let width = 30
                let filled = Int(fraction * Double(width))
                let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
                let prefix = phaseChanged && state.barOpen ? "\n" : ""
                state.barOpen = true
                return prefix + "\r\(label): [\(bar)] \(text)" + (fraction >= 1 ? "\n" : "")
            }
            let tenth = Int(fraction * 10)
            guard tenth > state.lastTenth else { return nil }
            state.lastTenth = tenth
            return "\(label): \(text)\n"
        }
        if let output { FileHandle.standardError.write(Data(output.utf8)) }
    }

    private func description(_ phase: SeedPhase) -> String {
        switch phase {
        case .reading: "reading and checking the input"
        case .writing: "writing PostgreSQL (one transaction)"
        case .priming: "priming Redis stock"
        }
    }
}
