import FlashSale
import Foundation
import Testing

@Suite("Reading Migrations/ and splitting SQL")
struct MigrationFileTests {
    @Test func loadsInVersionOrder() throws {
        let directory = try temporaryDirectory(files: [
            "0010_later.sql": "SELECT 10;", "0002_second.sql": "SELECT 2;", "0001_first.sql": "SELECT 1;",
            "README.md": "not a migration",
        ])
        let migrations = try Migration.load(from: directory)
        #expect(migrations.map(\.version) == [1, 2, 10])
        #expect(migrations.map(\.name) == ["first", "second", "later"])
    }

    @Test func rejectsBadNamesAndDuplicates() throws {
        let badName = try temporaryDirectory(files: ["first.sql": "SELECT 1;"])
        #expect(throws: MigrationError.badFileName("first.sql")) { try Migration.load(from: badName) }
        let duplicate = try temporaryDirectory(files: ["0001_a.sql": "", "001_b.sql": ""])
        #expect(throws: MigrationError.self) { try Migration.load(from: duplicate) }
        #expect(throws: MigrationError.self) { try Migration.load(from: URL(fileURLWithPath: "/no/such/dir")) }
    }

    @Test func theRepositoryMigrationsAreBuiltIn() throws {
        let onDisk = try Migration.load(
            from: URL(fileURLWithPath: #filePath).deletingLastPathComponent()
                .appendingPathComponent("../../Migrations").standardized)
        #expect(try Migration.embedded() == onDisk)
        let migrations = try Migration.embedded()
        #expect(migrations.first?.version == 1)
        #expect(migrations.first?.sql.contains("CREATE TABLE inventory") == true)
    }

    @Test func splitsOnlyAtTopLevelSemicolons() {
        let script = """
            -- a comment; with a semicolon
            CREATE TABLE a (note text DEFAULT 'x;y', "odd;name" int);
            /* block; comment */ INSERT INTO a VALUES ('it''s; fine');
            CREATE FUNCTION f() RETURNS int AS $$ BEGIN RETURN 1; END; $$ LANGUAGE plpgsql;
            CREATE FUNCTION g() RETURNS int AS $body$ SELECT 1; $body$ LANGUAGE sql;
            SELECT $1;
            """
        let statements = SQLStatementSplitter.split(script)
        #expect(statements.count == 5)
        #expect(statements[0].hasSuffix(#""odd;name" int)"#))
        #expect(statements[1].contains("'it''s; fine'"))
        #expect(statements[2].hasSuffix("LANGUAGE plpgsql"))
        #expect(statements[3].contains("$body$ SELECT 1; $body$"))
        #expect(statements[4] == "SELECT $1")
        #expect(SQLStatementSplitter.split("  ;\n; ").isEmpty)
    }

    private func temporaryDirectory(files: [String: String]) throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("migrations-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for (name, contents) in files {
            try contents.write(to: directory.appendingPathComponent(name), atomically: true, encoding: .utf8)
        }
        return directory
    }
}
