import Foundation
import NIOCore
import NIOPosix
import PostgresNIO

/// One readable line for a PostgreSQL error. `PSQLError`'s description hides the server's message
/// on purpose (it may contain data); operators running migrations need it.
public enum PostgresErrorText {
    public static func describe(_ error: any Error) -> String {
        let error = unwrapped(error)
        guard let error = error as? PSQLError else { return "\(error)" }
        if let message = error.serverInfo?[.message] {
            let code = error.serverInfo?[.sqlState].map { " (SQLSTATE \($0))" } ?? ""
            return message + code
        }
        if let connectionError = error.underlying as? NIOConnectionError,
            let ioError = connectionError.connectionErrors.first?.error as? IOError
        {
            return String(cString: strerror(ioError.errnoCode))
        }
        if let underlying = error.underlying { return "\(error.code): \(underlying)" }
        return "\(error.code)"
    }

    /// The SQLSTATE the server answered with, also from inside a transaction's wrapper.
    public static func sqlState(_ error: any Error) -> String? {
        (unwrapped(error) as? PSQLError)?.serverInfo?[.sqlState]
    }

    /// The constraint the server named with a constraint violation, also from inside a transaction's wrapper.
    public static func constraint(_ error: any Error) -> String? {
        (unwrapped(error) as? PSQLError)?.serverInfo?[.constraintName]
    }

    /// What failed inside a `withTransaction`: postgres-nio wraps it in `PostgresTransactionError`.
    static func unwrapped(_ error: any Error) -> any Error {
        guard let wrapper = error as? PostgresTransactionError else { return error }
        return wrapper.closureError ?? wrapper.commitError ?? wrapper.beginError ?? error
    }
}
