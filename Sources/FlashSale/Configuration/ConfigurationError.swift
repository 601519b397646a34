/// A bad setting, found at start. Its description is the one line the program prints before exiting.
public struct ConfigurationError: Error, CustomStringConvertible, Equatable {
    public let setting: String
    public let problem: String

    public init(_ setting: String, _ problem: String) {
        self.setting = setting
        self.problem = problem
    }

    public var description: String { "configuration error: \(setting): \(problem)" }
}
