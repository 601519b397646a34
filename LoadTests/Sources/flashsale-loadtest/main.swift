import NIOCore
import NIOPosix

// Every task runs on the event loops that do the I/O: without this, each request hopped between
// Swift's global pool and an event loop several times, and the generator spent about 350 µs of
// CPU per request, most of it waking threads (perf).
_ = NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
await LoadTestCommand.start()
