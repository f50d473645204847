import Foundation
import Testing
import WeirTestSupport

/// The serving API of a real `weir run --embedded` (card-fraud), with curl as the client: the
/// features of a key and a score come from the running engine once its events are processed;
/// the token file is required on /v1/* and never appears in the output; the probes stay open.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct ServingRunTests {
    static func curl(_ url: String, _ args: [String] = []) throws -> (status: Int, body: String) {
        let out = try tool(ExternalTool.named("curl").path!, ["-s", "--max-time", "10", "-w", "\n%{http_code}"] + args + [url])
        let cut = out.lastIndex(of: "\n") ?? out.startIndex
        return (Int(out[out.index(after: cut)...].trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1, String(out[..<cut]))
    }

    @Test(.requires(.named("curl")))
    func featuresAndScoresFromARunningEngine() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("weir-serve-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try tool(weirBinary.path, ["generate", "--count", "3000", "--keys", "50", "--seed", "9", "--output", dir + "/events.jsonl"])
        let token = "serve-\(UUID().uuidString)"
        try (token + "\n").write(toFile: dir + "/token", atomically: true, encoding: .utf8)

        let run = Process()
        run.executableURL = weirBinary
        run.arguments = ["run", repoRoot.appendingPathComponent("topologies/card-fraud.yaml").path, "--embedded",
                         "--metrics-port", "0", "--metrics-host", "127.0.0.1", "--log-format", "json",
                         "--serving-token-file", dir + "/token", "--checkpoints", "none"]
        FileManager.default.createFile(atPath: dir + "/out", contents: nil)
        FileManager.default.createFile(atPath: dir + "/err", contents: nil)
        run.standardOutput = FileHandle(forWritingAtPath: dir + "/out")
        run.standardError = FileHandle(forWritingAtPath: dir + "/err")
        try run.run()
        defer { if run.isRunning { run.terminate(); run.waitUntilExit() } }
        func stderrText() -> String { (try? String(contentsOfFile: dir + "/err", encoding: .utf8)) ?? "" }

        // The endpoint's port and the embedded broker, from the log.
        var port: Int?
        var bootstrap: String?
        let deadline = Date().addingTimeInterval(60)
        while (port == nil || bootstrap == nil) && Date() < deadline && run.isRunning {
            let logs = jsonLines(stderrText())
            port = logs.compactMap { ($0["metadata"] as? [String: Any])?["port"] as? String }.first.flatMap { Int($0) }
            bootstrap = logs.compactMap { ($0["message"] as? String)?.components(separatedBy: "embedded broker at ").dropFirst().first }.first
            if port == nil || bootstrap == nil { Thread.sleep(forTimeInterval: 0.05) }
        }
        let p = try #require(port, "no endpoint announced: \(stderrText())")
        let bs = try #require(bootstrap, "no broker announced: \(stderrText())")
        let base = "http://127.0.0.1:\(p)"
        let auth = ["-H", "Authorization: Bearer \(token)"]
        #expect(try Self.curl(base + "/healthz").0 == 200)
        #expect(try Self.curl(base + "/v1/features/u1").0 == 401)

        try tool(weirBinary.path, ["produce", dir + "/events.jsonl", "--topic", "transactions", "--brokers", bs, "--key-field", "user"])
        let lines = try String(contentsOfFile: dir + "/events.jsonl", encoding: .utf8).split(separator: "\n").map(String.init)
        let last = try #require(try JSONSerialization.jsonObject(with: Data(lines.last!.utf8)) as? [String: Any])
        let user = try #require(last["user"] as? String)

        // Once the events are processed, the last event's user has live features.
        var features: (status: Int, body: String) = (0, "")
        while Date() < deadline.addingTimeInterval(60) {
            features = try Self.curl(base + "/v1/features/\(user)", auth)
            if features.status == 200 { break }
            #expect([503, 404].contains(features.status), "\(features.body)")
            Thread.sleep(forTimeInterval: 0.2)
        }
        #expect(features.status == 200, "\(features.body)")
        let body = try #require(try JSONSerialization.jsonObject(with: Data(features.body.utf8)) as? [String: Any])
        #expect(body["key"] as? String == user)
        let served = try #require(body["features"] as? [[String: Any]])
        #expect(Set(served.compactMap { $0["name"] as? String }) == ["user_count_1m", "user_mean_1m", "user_max_1m", "user_merchants_1h"])
        let count = served.first { $0["name"] as? String == "user_count_1m" }?["value"] as? NSNumber
        #expect((count?.doubleValue ?? 0) >= 1)
        #expect((body["model_version"] as? NSNumber)?.intValue ?? 0 >= 1)

        // A score of a new event of that user, and a bad one.
        var event = last
        event["event_id"] = "served-1"
        let json = String(decoding: try JSONSerialization.data(withJSONObject: event), as: UTF8.self)
        let score = try Self.curl(base + "/v1/score", auth + ["--data-binary", json])
        #expect(score.status == 200, "\(score.body)")
        let scored = try #require(try JSONSerialization.jsonObject(with: Data(score.body.utf8)) as? [String: Any])
        #expect(scored["key"] as? String == user)
        #expect((scored["features"] as? [NSNumber])?.count == 13)
        let p0 = try #require(scored["score"] as? NSNumber).doubleValue
        #expect(p0 >= 0 && p0 <= 1)
        let bad = try Self.curl(base + "/v1/score", auth + ["--data-binary", #"{"user":"u1","amount":"many"}"#])
        #expect(bad.status == 400, "\(bad.body)")
        #expect(try Self.curl(base + "/v1/features/\(user)", ["-H", "Authorization: Bearer wrong"]).status == 401)
        #expect(try Self.curl(base + "/readyz").status == 200)

        run.interrupt()
        run.waitUntilExit()
        #expect(run.terminationStatus == 0, "\(stderrText().suffix(2000))")
        let out = (try? String(contentsOfFile: dir + "/out", encoding: .utf8)) ?? ""
        #expect(!stderrText().contains(token) && !out.contains(token))
        // At the stop, how long the answered requests waited for the run loop (at least the
        // features and the score answered 200 above).
        let summary = try #require(jsonLines(stderrText()).compactMap { $0["message"] as? String }
            .first { $0.hasPrefix("serving, ") && $0.contains(" requests waited for the run loop: p50 ≤ ") }, "\(stderrText().suffix(2000))")
        let answered = Int(summary.dropFirst("serving, ".count).prefix { $0.isNumber }) ?? 0
        #expect(answered >= 2, "\(summary)")
    }
}
