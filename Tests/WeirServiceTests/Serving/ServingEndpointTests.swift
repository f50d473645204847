import Foundation
import Logging
import Testing
import WeirCore
import WeirRuntime
import WeirService
import WeirTestSupport
import WeirTopology

/// The serving API over real HTTP(S) with curl as the client: answers equal the pipeline's own
/// replies, bad requests get clear 4xx (token, body and key limits, unknown routes, bad events),
/// the probes stay open, a standby or restoring instance answers 503, and the engine's state is
/// unchanged by any of it.
@Suite(.serialized) struct ServingEndpointTests {
    static let token = "t0k3n-for-tests"

    static let topology = """
        name: served
        source: {topics: [events], key: user, event_time: ts}
        schema:
          ts: {type: timestamp}
          user: {type: string}
          amount: {type: double, min: 0}
          label: {type: int, min: 0, max: 1, required: false}
        features:
          user_count_1m: {window: {tumbling: 1m}, by: user, aggregate: count}
          user_mean_1m: {window: {tumbling: 1m}, by: user, aggregate: mean, field: amount}
          amount_scaled: "amount / 100"
        model:
          label: label
          inputs: [amount_scaled, user_count_1m, user_mean_1m]
          emit_features: true
        """

    /// A pipeline that has processed a few events of users u0…u4, served by a loop thread like the
    /// runner's (``ServingMailbox/serve(_:now:)`` between idle iterations).
    final class Engine: @unchecked Sendable {
        let pipeline: Pipeline
        let mailbox = ServingMailbox(capacity: 8)
        private let lock = NSLock()
        private var stopped = false
        private var thread: Thread?

        init() throws {
            let dir = NSTemporaryDirectory() + "weir-serving-\(UUID().uuidString)"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            try ServingEndpointTests.topology.write(toFile: dir + "/served.yaml", atomically: true, encoding: .utf8)
            var p = try Pipeline(compiled: try TopologyCompiler.compile(try TopologyLoader.load(path: dir + "/served.yaml")))
            var batch = InputBatch(capacity: 20)
            for i in 0..<20 {
                let line = #"{"ts":\#(1_700_000_000_000 + Int64(i) * 500),"user":"u\#(i % 5)","amount":\#(10 + i),"label":\#(i % 2)}"#
                batch.append(Array(line.utf8), partition: 0, offset: Int64(i))
            }
            var sink = NullSink()
            try p.process(batch, topic: "events", now: 0, into: &sink)
            pipeline = p
        }

        func start() {
            mailbox.role = .active
            let t = Thread { [self] in
                while !lock.withLock({ stopped }) {
                    mailbox.serve(pipeline, now: 0)
                    usleep(200)
                }
            }
            thread = t
            t.start()
        }

        func stop() { lock.withLock { stopped = true } }
    }

    struct NullSink: OutputSink {
        mutating func write(_ kind: OutputKind, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer) throws {}
        mutating func deadLetter(original: UnsafeRawBufferPointer, reason: String, field: String?, source: SourcePosition) throws {}
        mutating func position(partition: Int32, offset: Int64) {}
    }

    struct CurlReply {
        var status: Int
        var body: String
    }

    /// curl: `-w` appends the status on its own line; `args` are extra options.
    static func curl(_ url: String, _ args: [String] = []) throws -> CurlReply {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: ExternalTool.named("curl").path!)
        p.arguments = ["-s", "-S", "--max-time", "60", "-w", "\n%{http_code}"] + args + [url]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        let cut = try #require(text.lastIndex(of: "\n"))
        return CurlReply(status: Int(text[text.index(after: cut)...]) ?? -1, body: String(text[..<cut]))
    }

    static func start(_ engine: Engine, token: String?, tls: HTTPServer.TLSFiles? = nil) async throws -> OperationsEndpoint.Running {
        try await OperationsEndpoint.start(host: "127.0.0.1", port: 0, registry: sharedRegistry, status: RuntimeStatus(),
                                           serving: ServingRoutes.Setup(mailbox: engine.mailbox, token: token), tls: tls,
                                           logger: Logger(label: "test"), timeout: .seconds(180))
    }

    /// The `error` field of a JSON reply (nil when there is none).
    static func errorCode(_ r: CurlReply) -> String? {
        ((try? JSONSerialization.jsonObject(with: Data(r.body.utf8))) as? [String: Any])?["error"] as? String
    }

    static func object(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], "\(text)")
    }

    @Test(.requires(.named("curl")))
    func answersEqualThePipelineAndBadRequestsGetClear4xx() async throws {
        let engine = try Engine()
        let before = engine.pipeline.checkpointState()
        let endpoint = try await Self.start(engine, token: Self.token)
        defer { endpoint.task.cancel() }
        let base = "http://127.0.0.1:\(endpoint.port)"
        let auth = ["-H", "Authorization: Bearer \(Self.token)"]

        // Not active yet: 503 with the reason, probes open.
        var r = try Self.curl(base + "/v1/features/u1", auth)
        #expect(r.status == 503 && Self.errorCode(r) == "standby", "\(r.body)")
        engine.mailbox.role = .restoring
        r = try Self.curl(base + "/v1/features/u1", auth)
        #expect(r.status == 503 && Self.errorCode(r) == "restoring", "\(r.body)")
        #expect(try Self.curl(base + "/healthz").status == 200)
        #expect(try Self.curl(base + "/metrics").status == 200)

        engine.start()
        defer { engine.stop() }
        // Features: the same answer as the pipeline's own.
        r = try Self.curl(base + "/v1/features/u1", auth)
        #expect(r.status == 200)
        #expect(r.body == engine.pipeline.featuresReply(key: "u1").text)
        let features = try #require(try Self.object(r.body)["features"] as? [[String: Any]])
        #expect(features.map { $0["name"] as? String } == ["user_count_1m", "user_mean_1m"])
        #expect((features[0]["value"] as? NSNumber)?.doubleValue == 4)
        // A percent-encoded key is decoded; an unseen key is 404.
        r = try Self.curl(base + "/v1/features/nobody%20here", auth)
        #expect(r.status == 404 && Self.errorCode(r) == "unknown_key", "\(r.body)")

        // Score: the pipeline's own reply for the same event.
        let event = #"{"ts":1700000011000,"user":"u2","amount":42.5}"#
        r = try Self.curl(base + "/v1/score", auth + ["-H", "Content-Type: application/json", "--data-binary", event])
        #expect(r.status == 200)
        #expect(r.body == engine.pipeline.scoreReply(event: Array(event.utf8), now: 0).text)
        #expect((try Self.object(r.body))["model_version"] as? NSNumber != nil)

        // Bad events: 400 with the dead letter's reason and field.
        for (bad, field) in [(#"{"ts":1700000011000,"user":"u2","amount":"#, nil as String?),
                             (#"{"ts":1700000011000,"user":"u2","amount":"lots"}"#, "amount"),
                             (#"{"ts":1700000011000,"user":"u2","amount":-1}"#, "amount"),
                             (#"{"ts":"yesterday","user":"u2","amount":1}"#, "ts")] {
            r = try Self.curl(base + "/v1/score", auth + ["--data-binary", bad])
            #expect(r.status == 400, "\(bad): \(r.body)")
            let body = try Self.object(r.body)
            #expect(body["error"] as? String == "invalid_event")
            #expect(body["field"] as? String == field, "\(bad): \(r.body)")
            #expect(r.body == engine.pipeline.scoreReply(event: Array(bad.utf8), now: 0).text)
        }
        // An unknown field: whatever the source decoder does with it (the same as a source record).
        let unknown = #"{"ts":1700000011000,"user":"u2","amount":1,"surprise":true}"#
        r = try Self.curl(base + "/v1/score", auth + ["--data-binary", unknown])
        #expect(r.body == engine.pipeline.scoreReply(event: Array(unknown.utf8), now: 0).text)
        #expect(r.status == 200 || r.status == 400)

        // Limits: body (64 KiB) → 413, key (256 bytes) → 414.
        let huge = NSTemporaryDirectory() + "weir-serving-huge-\(UUID().uuidString).json"
        try Data((#"{"user":""# + String(repeating: "x", count: 70_000) + #""}"#).utf8).write(to: URL(fileURLWithPath: huge))
        r = try Self.curl(base + "/v1/score", auth + ["--data-binary", "@" + huge])
        #expect(r.status == 413, "\(r.body)")
        r = try Self.curl(base + "/v1/features/" + String(repeating: "k", count: 300), auth)
        #expect(r.status == 414 && Self.errorCode(r) == "key_too_long", "\(r.body)")

        // Auth: none or a wrong token → 401 that never echoes the token; unknown routes → 404.
        r = try Self.curl(base + "/v1/features/u1")
        #expect(r.status == 401 && !r.body.contains(Self.token), "\(r.body)")
        r = try Self.curl(base + "/v1/features/u1", ["-H", "Authorization: Bearer \(Self.token)x"])
        #expect(r.status == 401 && !r.body.contains(Self.token))
        r = try Self.curl(base + "/v1/score", ["-H", "Authorization: Basic \(Self.token)", "--data-binary", event])
        #expect(r.status == 401)
        #expect(try Self.curl(base + "/v1/nothing", auth).status == 404)
        #expect(try Self.curl(base + "/v2/features/u1", auth).status == 404)

        // Nothing above changed the engine; it still answers.
        #expect(engine.pipeline.checkpointState() == before)
        #expect(try Self.curl(base + "/v1/features/u1", auth).status == 200)
        // Only the requests past the guards reached the run loop: 2 features + 1 score + 4 bad +
        // 1 unknown field + the last features (the 401/413/414/404 ones never did).
        #expect(engine.mailbox.answered == 9)
    }

    @Test(.requires(.named("curl"), .named("openssl")))
    func servesHTTPSWithTheGivenCertificate() async throws {
        let dir = NSTemporaryDirectory() + "weir-serving-tls-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let openssl = Process()
        openssl.executableURL = URL(fileURLWithPath: ExternalTool.named("openssl").path!)
        openssl.arguments = ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                             "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                             "-keyout", dir + "/key.pem", "-out", dir + "/cert.pem"]
        openssl.standardError = FileHandle.nullDevice
        try openssl.run()
        openssl.waitUntilExit()
        #expect(openssl.terminationStatus == 0)
        let engine = try Engine()
        let endpoint = try await Self.start(engine, token: nil,
                                            tls: HTTPServer.TLSFiles(certificate: dir + "/cert.pem", privateKey: dir + "/key.pem"))
        defer { endpoint.task.cancel() }
        #expect(endpoint.url.hasPrefix("https://"))
        engine.start()
        defer { engine.stop() }
        let base = "https://127.0.0.1:\(endpoint.port)"
        var r = try Self.curl(base + "/v1/features/u3", ["--cacert", dir + "/cert.pem"])
        #expect(r.status == 200)
        #expect(r.body == engine.pipeline.featuresReply(key: "u3").text)
        r = try Self.curl(base + "/healthz", ["--cacert", dir + "/cert.pem"])
        #expect(r.status == 200)
        // Without trusting the certificate, curl refuses the connection (status 000).
        #expect(try Self.curl(base + "/healthz").status == 0)
        // A missing key file is a clear start error.
        await #expect(throws: HTTPServer.StartError.self) {
            _ = try await Self.start(engine, token: nil, tls: HTTPServer.TLSFiles(certificate: dir + "/cert.pem", privateKey: dir + "/none.pem"))
        }
    }
}
