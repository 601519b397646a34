/// A bad e-mail setting, found at start. Its description is the one line the program prints
/// before exiting, naming the variable, so a typo never surfaces as a failed delivery hours later.
public struct EmailSettingsError: Error, Equatable, CustomStringConvertible {
    /// The environment variable at fault, e.g. `EMAIL_SIGNING_SECRET`.
    public let variable: String
    public let problem: String

    public init(_ variable: String, _ problem: String) {
        self.variable = variable
        self.problem = problem
    }

    public var description: String { "configuration error: \(variable): \(problem)" }
}
