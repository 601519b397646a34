/// Why a seed input was refused. Nothing is written when one is thrown.
public struct SeedInputError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The input line at fault, when one line is.
    public let line: Int?
    public let message: String

    public init(line: Int? = nil, _ message: String) {
        self.line = line
        self.message = message
    }

    public var description: String {
        guard let line else { return message }
        return "line \(line): \(message)"
    }
}
