/// Where Redis is and how the client talks to it.
public struct RedisConfiguration: Sendable, Equatable {
    public var host: String
    public var port: Int
    public var username: String?
    public var password: String?
    public var database: Int
    /// Long-lived connections; every one carries many commands at once, so a few suffice.
    public var connectionCount: Int
    /// Default time a command may wait for its reply.
    public var commandTimeout: Duration
    public var connectTimeout: Duration

    public init(
        host: String = "127.0.0.1", port: Int = 6379, username: String? = nil, password: String? = nil,
        database: Int = 0, connectionCount: Int = 4, commandTimeout: Duration = .seconds(2),
        connectTimeout: Duration = .seconds(1)
    ) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
        self.connectionCount = connectionCount
        self.commandTimeout = commandTimeout
        self.connectTimeout = connectTimeout
    }

    /// Parses `redis://[[username]:password@]host[:port][/database]`.
    public init(url: String) throws(RedisError) {
        self.init()
        // Errors quote the URL as given, but never its password.
        let shown = URLRedaction.redacted(url, loneUserIsSecret: true)
        guard url.hasPrefix("redis://") else {
            throw .invalidURL("'\(shown)' must start with redis://")
        }
        var rest = Substring(url.dropFirst("redis://".count))
        if let at = rest.lastIndex(of: "@") {
            let credentials = rest[..<at]
            rest = rest[rest.index(after: at)...]
            if let colon = credentials.firstIndex(of: ":") {
                let user = credentials[..<colon]
                username = user.isEmpty ? nil : Self.percentDecoded(user)
                password = Self.percentDecoded(credentials[credentials.index(after: colon)...])
            } else {
                password = Self.percentDecoded(credentials)
            }
        }
        var hostPort = rest
        if let slash = rest.firstIndex(of: "/") {
            hostPort = rest[..<slash]
            let path = rest[rest.index(after: slash)...]
            if !path.isEmpty {
                guard let index = Int(path), index >= 0 else {
                    throw .invalidURL("database '\(path)' in '\(shown)' is not a number ≥ 0")
                }
                database = index
            }
        }
        if let colon = hostPort.lastIndex(of: ":"), !hostPort.hasSuffix("]") {
            let portText = hostPort[hostPort.index(after: colon)...]
            guard let value = Int(portText), (1...65535).contains(value) else {
                throw .invalidURL("port '\(portText)' in '\(shown)' is not between 1 and 65535")
            }
            port = value
            hostPort = hostPort[..<colon]
        }
        let hostText = hostPort.hasPrefix("[") ? hostPort.dropFirst().dropLast() : hostPort
        guard !hostText.isEmpty else { throw .invalidURL("'\(shown)' names no host") }
        host = String(hostText)
    }

    private static func percentDecoded(_ text: Substring) -> String {
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8).makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "%"), let high = iterator.next(), let low = iterator.next(),
                let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16)
            {
                bytes.append(value)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
