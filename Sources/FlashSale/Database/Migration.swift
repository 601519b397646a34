import Foundation

/// One SQL file from `Migrations/`, named `NNNN_description.sql`.
public struct Migration: Sendable, Equatable {
    public let version: Int
    public let name: String
    public let sql: String

    public init(version: Int, name: String, sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
    }
}

public enum MigrationError: Error, CustomStringConvertible, Equatable {
    case directoryUnreadable(String)
    case badFileName(String)
    case duplicateVersion(Int, String, String)
    case failed(version: Int, name: String, reason: String)

    public var description: String {
        switch self {
        case .directoryUnreadable(let path):
            "cannot read migrations directory \(path) (set MIGRATIONS_DIR or --migrations-dir)"
        case .badFileName(let file):
            "migration file \(file) must be named NNNN_description.sql"
        case .duplicateVersion(let version, let first, let second):
            "migrations \(first) and \(second) share version \(version)"
        case .failed(let version, let name, let reason):
            "migration \(version) (\(name)) failed and was rolled back: \(reason)"
        }
    }
}

extension Migration {
    /// Reads every `*.sql` file of `directory`, ordered by version.
    public static func load(from directory: URL) throws -> [Migration] {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        } catch {
            throw MigrationError.directoryUnreadable(directory.path)
        }
        let files = try names.filter { $0.hasSuffix(".sql") }.map { name in
            (name: name, sql: try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8))
        }
        return try parse(files)
    }

    /// The repository's `Migrations/`, compiled into the binary by the EmbedMigrations plugin.
    public static func embedded() throws -> [Migration] {
        try parse(EmbeddedMigrations.files)
    }

    static func parse(_ files: [(name: String, sql: String)]) throws -> [Migration] {
        var byVersion: [Int: (file: String, migration: Migration)] = [:]
        for (file, sql) in files {
            let stem = file.dropLast(".sql".count)
            guard file.hasSuffix(".sql"), let underscore = stem.firstIndex(of: "_"),
                let version = Int(stem[..<underscore])
            else {
                throw MigrationError.badFileName(file)
            }
            if let existing = byVersion[version] {
                throw MigrationError.duplicateVersion(version, existing.file, file)
            }
            let name = String(stem[stem.index(after: underscore)...])
            byVersion[version] = (file, Migration(version: version, name: name, sql: sql))
        }
        return byVersion.values.map(\.migration).sorted { $0.version < $1.version }
    }
}
