import Foundation
import PackagePlugin

/// Compiles the target's `*.lua` files (kept next to the Swift that runs them) into the module as
/// `EmbeddedLua.<name>`, so a script is read, diffed and linted as Lua, and still ships inside the
/// binary.
@main
struct EmbedLuaScripts: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let directory = target.directoryURL
        guard let walker = FileManager.default.enumerator(at: directory, includingPropertiesForKeys: nil) else { return [] }
        let scripts = walker.compactMap { $0 as? URL }.filter { $0.pathExtension == "lua" }
            .sorted { $0.path < $1.path }
        let output = context.pluginWorkDirectoryURL.appending(path: "EmbeddedLua.swift")
        return [
            .buildCommand(
                displayName: "Embedding \(scripts.count) Lua scripts",
                executable: try context.tool(named: "embed-files").url,
                arguments: ["lua", output.path] + scripts.map(\.path),
                inputFiles: scripts,
                outputFiles: [output])
        ]
    }
}
