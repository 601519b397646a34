/// The audit as terminal lines: a mark, the check and what it found, then the verdict.
public enum AuditText {
    public static func lines(_ audit: AuditResult?) -> String {
        guard let audit else { return "audit: not run" }
        var lines = audit.checks.map { "  \($0.passed ? "✓" : "✗") \($0.name): \($0.detail)" }
        let failed = audit.checks.filter { !$0.passed }.count
        lines.append(failed == 0 ? "audit: passed" : "audit: FAILED (\(failed) of \(audit.checks.count) checks)")
        return lines.joined(separator: "\n")
    }
}
