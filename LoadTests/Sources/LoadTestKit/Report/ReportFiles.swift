import Foundation

/// `report.json` and `report.html` in one folder.
public enum ReportFiles {
    public static func write(_ report: LoadReport, to folder: URL) throws -> (json: URL, html: URL) {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let json = folder.appendingPathComponent("report.json")
        let html = folder.appendingPathComponent("report.html")
        try encoder().encode(report).write(to: json)
        try Data(HTMLReport.render(report).utf8).write(to: html)
        return (json, html)
    }

    public static func read(_ path: String) throws -> LoadReport {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw ScenarioError("cannot read \(path): \(error.localizedDescription)")
        }
        do {
            return try decoder().decode(LoadReport.self, from: data)
        } catch let error as DecodingError {
            throw ScenarioError("\(path) is not a report.json of flashsale-loadtest: \(ScenarioError.describe(error))")
        }
    }

    // Keys as the Swift names: a snake_case strategy would also rewrite dictionary keys (SKUs).
    static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }

    static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }
}
