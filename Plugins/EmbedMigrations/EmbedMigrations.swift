import Foundation
import PackagePlugin

/// Compiles the repository's `Migrations/*.sql` into the FlashSale module, so the binary carries
/// its schema wherever it is copied (SwiftPM resources cannot live outside a target's folder).
@main
struct EmbedMigrations: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let directory = context.package.directoryURL.appending(path: "Migrations")
        let sqlFiles = try FileManager.default
            .contentsOfDirectory(at: directory, includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "sql" }
        let output = context.pluginWorkDirectoryURL.appending(path: "EmbeddedMigrations.swift")
        return [
            .buildCommand(
                displayName: "Embedding \(sqlFiles.count) SQL migrations",
                executable: try context.tool(named: "embed-files").url,
                arguments: ["migrations", directory.path, output.path],
                inputFiles: sqlFiles + [directory],
                outputFiles: [output])
        ]
    }
}
