import Foundation
import NIOCore
import NIOPosix
import PostgresNIO

/// One readable line for a PostgreSQL error. `PSQLError`'s description hides the server's message
/// on purpose (it may contain data); operators running migrations need it.
public enum PostgresErrorText {
    public static func describe(_ error: any Error) -> String {
        if let transactionError = error as? PostgresTransactionError {
            if let closureError = transactionError.closureError { return describe(closureError) }
            if let commitError = transactionError.commitError { return describe(commitError) }
            if let beginError = transactionError.beginError { return describe(beginError) }
        }
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
}
