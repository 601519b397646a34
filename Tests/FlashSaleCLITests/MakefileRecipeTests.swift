import Foundation
import Testing

/// The Makefile's recipes are valid shell: `make run` once reached no command at all, because a
/// comment inside a backslash-continued recipe line became words of that line.
@Suite struct MakefileRecipeTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// What `make -n TARGET` would run, checked by `bash -n` (parsed, never run).
    static func shellCheck(_ target: String) async throws -> (status: Int32, errors: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "make --no-print-directory -n -C \"$0\" \"$1\" | bash -n", repository.path, target]
        process.environment = ["PATH": "/usr/bin:/bin"]
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        // Foundation's waitUntilExit can block forever inside Swift concurrency; poll instead.
        while process.isRunning { try await Task.sleep(for: .milliseconds(10)) }
        return (process.terminationStatus, String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
    }

    @Test(arguments: ["run", "loadtest", "stop", "migrate", "lint", "format"])
    func theRecipeIsValidShell(target: String) async throws {
        let check = try await Self.shellCheck(target)
        #expect(check.status == 0, "make \(target): \(check.errors)")
        #expect(check.errors.isEmpty, "make \(target): \(check.errors)")
    }
}
