import CHiredis

/// Encodes a command into RESP with hiredis' `redisFormatCommandArgv`.
enum RedisCommandEncoder {
    /// Calls `body` with the RESP encoding of `arguments`; the bytes are valid only inside `body`.
    static func withEncoded<Result>(
        _ arguments: [RedisArgument], _ body: (UnsafeRawBufferPointer) -> Result
    ) -> Result {
        // All arguments share one contiguous storage so hiredis can be handed stable pointers.
        var storage: [UInt8] = []
        storage.reserveCapacity(64)
        var lengths: [Int] = []
        lengths.reserveCapacity(arguments.count)
        for argument in arguments {
            let before = storage.count
            argument.append(to: &storage)
            lengths.append(storage.count - before)
        }
        return storage.withUnsafeBufferPointer { bytes in
            let base = UnsafeRawPointer(bytes.baseAddress ?? UnsafePointer(bitPattern: 1)!)
            var argv: [UnsafePointer<CChar>?] = []
            argv.reserveCapacity(lengths.count)
            var offset = 0
            for length in lengths {
                argv.append((base + offset).assumingMemoryBound(to: CChar.self))
                offset += length
            }
            var target: UnsafeMutablePointer<CChar>? = nil
            let encodedLength = argv.withUnsafeMutableBufferPointer { argvBuffer in
                lengths.withUnsafeBufferPointer { lengthBuffer in
                    redisFormatCommandArgv(
                        &target, Int32(lengths.count), argvBuffer.baseAddress, lengthBuffer.baseAddress)
                }
            }
            guard encodedLength > 0, let target else {
                // hiredis only fails here when malloc fails; there is nothing sensible left to do.
                fatalError("redisFormatCommandArgv could not allocate \(storage.count) bytes")
            }
            defer { redisFreeCommand(target) }
            return body(UnsafeRawBufferPointer(start: target, count: Int(encodedLength)))
        }
    }
}
