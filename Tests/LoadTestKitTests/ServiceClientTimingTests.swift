import AsyncHTTPClient
import Foundation
import LoadTestKit
import NIOCore
import NIOHTTP1
import NIOPosix
import Testing

/// The client against a local HTTP server that answers 429 after `delay`: the answer's parts a
/// shopper acts on arrive, and latency counts from the schedule while "from the send" does not
/// include the time the request waited for its send.
@Suite struct ServiceClientTimingTests {
    @Test func latencyCountsFromTheScheduleAndAnswerTimeFromTheSend() async throws {
        let server = try await SlowServer.start(delay: .milliseconds(150))
        let http = ServiceClient.pooledHTTPClient(connections: 2, timeout: .seconds(5))
        let waited = Duration.milliseconds(300)
        // The run began `waited` ago and this request was due at its start: it leaves late.
        let start = ContinuousClock.now - waited
        let recorder = RunRecorder(start: start)
        let client = ServiceClient(http: http, recorder: recorder, timeout: .seconds(5))

        let reply = await client.send(
            .order, .POST, target: "http://127.0.0.1:\(server.port)", path: "/v1/sales/s/orders", json: "{}", scheduled: start)
        try await http.shutdown()
        try await server.channel.close()

        #expect(reply.answer == Answer(status: 429, code: "rate_limited"))
        #expect(reply.retryAfter == 2)
        var report = LoadReport(scenario: "", targets: [], runID: "", saleID: "", seed: 0, shards: [], startedAt: Date())
        recorder.fill(&report)
        let latency = try #require(report.results.first { $0.endpoint == .order }).latency
        let fromSchedule = latency.maxMilliseconds
        let fromSend = report.generator.answerTime.maxMilliseconds
        #expect(fromSchedule >= 450)
        #expect(fromSend >= 150)
        #expect(fromSchedule - fromSend >= 300)
        #expect(report.generator.lateSends == 1)
    }
}

/// Answers every request with 429, `Retry-After: 2` and a problem body, `delay` after its end.
private struct SlowServer {
    let channel: any Channel
    let port: Int

    static func start(delay: TimeAmount) async throws -> SlowServer {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.pipeline.configureHTTPServerPipeline().flatMap {
                    channel.pipeline.addHandler(Handler(delay: delay))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return SlowServer(channel: channel, port: channel.localAddress!.port!)
    }

    final class Handler: ChannelInboundHandler, Sendable {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        let delay: TimeAmount

        init(delay: TimeAmount) { self.delay = delay }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            guard case .end = unwrapInboundIn(data) else { return }
            let body = ByteBuffer(string: #"{"type":"about:blank","status":429,"code":"rate_limited"}"#)
            let head = HTTPResponseHead(
                version: .http1_1, status: .tooManyRequests,
                headers: [
                    "Content-Type": "application/problem+json", "Retry-After": "2", "Content-Length": "\(body.readableBytes)",
                ])
            let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
            context.eventLoop.scheduleTask(in: delay) {
                let context = loopBound.value
                context.write(NIOAny(HTTPServerResponsePart.head(head)), promise: nil)
                context.write(NIOAny(HTTPServerResponsePart.body(.byteBuffer(body))), promise: nil)
                context.writeAndFlush(NIOAny(HTTPServerResponsePart.end(nil)), promise: nil)
            }
        }
    }
}
