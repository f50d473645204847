import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing
import WeirTestSupport

/// `weir run` as operators see it: /metrics scraped mid-run and parsed by prometheus_client,
/// /readyz before and after assignment, JSON logs, secrets never printed, configuration
/// precedence and errors.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct OperationsTests {
    static let python = ExternalTool.python(importing: ["prometheus_client.parser"])

    /// GET over HTTP: (status, body); status 0 when nothing answers.
    static func get(_ url: String) -> (status: Int, body: String) {
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var result = (0, "")
        var request = URLRequest(url: URL(string: url)!)
        request.timeoutInterval = 5
        URLSession.shared.dataTask(with: request) { data, response, _ in
            result = ((response as? HTTPURLResponse)?.statusCode ?? 0, data.map { String(decoding: $0, as: UTF8.self) } ?? "")
            done.signal()
        }.resume()
        done.wait()
        return result
    }

    /// Samples parsed by Python prometheus_client from `text` (nil: it did not parse).
    static func parseWithPrometheusClient(_ text: String) throws -> [[String: Any]]? {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: try python.require())
        p.arguments = [repoRoot.appendingPathComponent("scripts/checks/parse_prometheus.py").path]
        let input = Pipe(), output = Pipe()
        p.standardInput = input
        p.standardOutput = output
        try p.run()
        input.fileHandleForWriting.write(Data(text.utf8))
        try input.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { return nil }
        return jsonLines(String(decoding: data, as: UTF8.self))
    }

    /// A `weir broker` with `topics` (each NAME or NAME:PARTITIONS), its bootstrap address, and its process.
    static func startBroker(_ topics: String..., dir: String) throws -> (bootstrap: String, process: Process) {
        let bsFile = dir + "/bootstrap"
        let broker = Process()
        broker.executableURL = weirBinary
        broker.arguments = ["broker"] + topics.flatMap { ["--topic", $0] } + ["--bootstrap-file", bsFile]
        broker.standardOutput = FileHandle.nullDevice
        broker.standardError = FileHandle.nullDevice
        try broker.run()
        let deadline = Date().addingTimeInterval(20)
        while !FileManager.default.fileExists(atPath: bsFile) && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        return (try String(contentsOfFile: bsFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines), broker)
    }

    /// Events produced with kcat; `weir run --metrics-port 0 --log-format json` with a SASL password
    /// (-X) and a TLS key password (environment): /readyz is 503 before the group assigns
    /// partitions and 200 after; a mid-run scrape parses with prometheus_client and its event
    /// counters equal the events produced; every stderr line is a JSON object; neither secret
    /// appears anywhere in stdout or stderr.
    @Test(.requires(.kcat, python))
    func metricsReadinessJSONLogsAndNoSecrets() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("weir-ops-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try tool(weirBinary.path, ["generate", "--count", "4000", "--seed", "5", "--output", dir + "/gen.jsonl"])
        var lines = try String(contentsOfFile: dir + "/gen.jsonl", encoding: .utf8).split(separator: "\n").map(String.init)
        let bad = [#"{"event_id":"b1","ts":1700000000000,"#,
                   #"{"event_id":"b2","ts":1700000000000,"user":"u1","amount":"lots","merchant":"fuel","device_age_days":1}"#,
                   #"{"event_id":"b3","ts":1700000000000,"user":"u1","merchant":"fuel","device_age_days":1}"#]
        lines.insert(bad[0], at: 10)
        lines.insert(bad[1], at: 2_000)
        lines.insert(bad[2], at: 3_000)
        try (lines.joined(separator: "\n") + "\n").write(toFile: dir + "/input.jsonl", atomically: true, encoding: .utf8)
        let (bs, broker) = try Self.startBroker("transactions:2", dir: dir)
        defer { broker.terminate(); broker.waitUntilExit() }
        try tool("kcat", ["-P", "-b", bs, "-t", "transactions", "-l", dir + "/input.jsonl"])

        let saslPassword = "Sasl-Pa55-\(UUID().uuidString.prefix(8))"
        let keyPassword = "Key-Pa55-\(UUID().uuidString.prefix(8))"
        let run = Process()
        run.executableURL = weirBinary
        run.arguments = ["run", repoRoot.appendingPathComponent("topologies/card-fraud.yaml").path, "--brokers", bs,
                         "--metrics-port", "0", "--metrics-host", "127.0.0.1", "--log-format", "json",
                         "-X", "sasl.username=weir", "-X", "sasl.password=\(saslPassword)"]
        var env = ProcessInfo.processInfo.environment
        env["WEIR_KAFKA_SSL_KEY_PASSWORD"] = keyPassword
        run.environment = env
        FileManager.default.createFile(atPath: dir + "/out", contents: nil)
        FileManager.default.createFile(atPath: dir + "/err", contents: nil)
        run.standardOutput = FileHandle(forWritingAtPath: dir + "/out")
        run.standardError = FileHandle(forWritingAtPath: dir + "/err")
        try run.run()
        defer { if run.isRunning { run.terminate() } }
        func stderrText() -> String { (try? String(contentsOfFile: dir + "/err", encoding: .utf8)) ?? "" }

        // The endpoint's port, from the JSON log record announcing it.
        var port: Int?
        let deadline = Date().addingTimeInterval(20)
        while port == nil && Date() < deadline && run.isRunning {
            port = jsonLines(stderrText()).compactMap { ($0["metadata"] as? [String: Any])?["port"] as? String }.first.flatMap { Int($0) }
            if port == nil { Thread.sleep(forTimeInterval: 0.05) }
        }
        let p = try #require(port, "no endpoint announced: \(stderrText())")
        let base = "http://127.0.0.1:\(p)"
        #expect(Self.get(base + "/healthz").status == 200)

        // Readiness from the first answer: not ready until the group assigns partitions (the
        // embedded broker's group join takes seconds), then ready.
        var statuses: [Int] = []
        var firstBody = ""
        while Date() < deadline.addingTimeInterval(20) {
            let r = Self.get(base + "/readyz")
            if statuses.isEmpty { firstBody = r.body }
            statuses.append(r.status)
            if r.status == 200 { break }
            Thread.sleep(forTimeInterval: 0.05)
        }
        #expect(statuses.first == 503, "\(statuses.prefix(3))")
        #expect(firstBody.contains("no partitions assigned"), "\(firstBody)")
        #expect(statuses.last == 200)
        let ready = try #require(try JSONSerialization.jsonObject(with: Data(Self.get(base + "/readyz").body.utf8)) as? [String: Any])
        #expect(ready["assigned_partitions"] as? [Int] == [0, 1])

        // Scrape until every event is counted, then parse with prometheus_client.
        var samples: [[String: Any]] = []
        func value(_ name: String, _ labels: [String: String]) -> Double? {
            let m = samples.filter { s in
                s["name"] as? String == name && labels.allSatisfy { k, v in (s["labels"] as? [String: String])?[k] == v }
            }
            return m.count == 1 ? (m[0]["value"] as? NSNumber)?.doubleValue : nil
        }
        let total = Double(lines.count)
        while Date() < deadline.addingTimeInterval(40) {
            let text = Self.get(base + "/metrics").body
            samples = try #require(try Self.parseWithPrometheusClient(text), "not Prometheus text: \(text.prefix(500))")
            if value("weir_events_in_total", ["topic": "transactions"]) == total
                && value("weir_events_out_total", ["kind": "scores"]) == total - Double(bad.count) { break }
            Thread.sleep(forTimeInterval: 0.2)
        }
        #expect(value("weir_events_in_total", ["topic": "transactions"]) == total)
        #expect(value("weir_events_out_total", ["topic": "card-fraud.scores"]) == total - Double(bad.count))
        #expect(value("weir_events_out_total", ["topic": "card-fraud.dlq"]) == Double(bad.count))
        #expect(value("weir_model_scored_total", [:]) == total - Double(bad.count))
        #expect(value("weir_dead_letters_total", ["reason": "malformed_json"]) == 1)
        #expect(value("weir_dead_letters_total", ["reason": "wrong_type"]) == 1)
        #expect(value("weir_dead_letters_total", ["reason": "missing_required"]) == 1)
        #expect(value("weir_assigned_partitions", [:]) == 2)
        #expect((value("weir_batch_duration_seconds_count", [:]) ?? 0) >= 1)
        #expect(samples.contains { $0["name"] as? String == "weir_batch_duration_seconds_bucket" })

        run.terminate()  // SIGTERM: graceful
        run.waitUntilExit()
        #expect(run.terminationStatus == 0)
        let out = (try? String(contentsOfFile: dir + "/out", encoding: .utf8)) ?? ""
        let err = stderrText()
        for line in err.split(separator: "\n") {
            #expect((try? JSONSerialization.jsonObject(with: Data(line.utf8))) is [String: Any], "not a JSON object: \(line)")
        }
        #expect(err.contains("sasl.password puts a secret on the command line"))
        for secret in [saslPassword, keyPassword] {
            #expect(!out.contains(secret) && !err.contains(secret), "a secret was printed")
        }
    }

    /// `--print-config`: flag > WEIR_* > file for each setting, with its origin; secrets from a
    /// file named by the environment are used but printed as <redacted>; `--help` shows none.
    @Test func printConfigShowsPrecedenceAndRedactsSecrets() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("weir-cfg-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let secret = "file-secret-\(UUID().uuidString.prefix(8))"
        try (secret + "\n").write(toFile: dir + "/password", atomically: true, encoding: .utf8)
        try """
            brokers: from-file:9092
            metrics_port: 1111
            log_level: warning
            group_id: file-group
            kafka:
              sasl.username: file-user
              sasl.password: inline-file-secret
            """.write(toFile: dir + "/weir.yaml", atomically: true, encoding: .utf8)
        let p = Process()
        p.executableURL = weirBinary
        p.arguments = ["run", repoRoot.appendingPathComponent("topologies/card-fraud.yaml").path, "--config", dir + "/weir.yaml", "--metrics-port", "3333", "--print-config"]
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("WEIR_") }
        env["WEIR_METRICS_PORT"] = "2222"
        env["WEIR_LOG_LEVEL"] = "debug"
        env["WEIR_KAFKA_SASL_PASSWORD_FILE"] = dir + "/password"
        p.environment = env
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let errText = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus == 0, "\(errText)")
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines.contains("metrics_port = 3333  (flag --metrics-port)"), "\(text)")
        #expect(lines.contains("log_level = debug  (environment variable WEIR_LOG_LEVEL)"), "\(text)")
        #expect(lines.contains("brokers = from-file:9092  (\(dir)/weir.yaml:1)"), "\(text)")
        #expect(lines.contains("group_id = file-group  (\(dir)/weir.yaml:4)"), "\(text)")
        #expect(lines.contains("kafka.sasl.username = file-user  (\(dir)/weir.yaml:6)"), "\(text)")
        #expect(lines.contains("kafka.sasl.password = <redacted>  (file \(dir)/password named by environment variable WEIR_KAFKA_SASL_PASSWORD_FILE)"), "\(text)")
        #expect(!text.contains(secret) && !errText.contains(secret) && !text.contains("inline-file-secret"))

        let help = Process()
        help.executableURL = weirBinary
        help.arguments = ["run", "--help"]
        help.environment = env.merging(["WEIR_KAFKA_SASL_PASSWORD": secret]) { _, b in b }
        let helpOut = Pipe()
        help.standardOutput = helpOut
        help.standardError = helpOut
        try help.run()
        let helpText = String(decoding: helpOut.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        help.waitUntilExit()
        #expect(helpText.contains("--metrics-port") && helpText.contains("--log-format") && helpText.contains("--config"))
        #expect(!helpText.contains(secret))
    }

    /// Bad values exit 2 naming the setting, where it came from and the value (never a secret).
    @Test func badConfigurationExitsWithAClearError() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("weir-bad-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "brokers: b:9092\nlog_fromat: json\n".write(toFile: dir + "/typo.yaml", atomically: true, encoding: .utf8)
        func run(_ args: [String], env: [String: String]) throws -> (Int32, String) {
            try runWeir(["run", repoRoot.appendingPathComponent("topologies/card-fraud.yaml").path] + args, env: env, dropPrefix: "WEIR_")
        }
        let port = try run(["--brokers", "b:9092"], env: ["WEIR_METRICS_PORT": "ninety"])
        #expect(port.0 == 2)
        #expect(port.1.contains("invalid metrics_port 'ninety' from environment variable WEIR_METRICS_PORT"), "\(port.1)")
        let typo = try run(["--config", dir + "/typo.yaml"], env: [:])
        #expect(typo.0 == 2)
        #expect(typo.1.contains("unknown setting 'log_fromat' in \(dir)/typo.yaml:2"), "\(typo.1)")
        let format = try run(["--brokers", "b:9092", "--log-format", "yaml"], env: [:])
        #expect(format.0 == 2)
        #expect(format.1.contains("invalid log_format 'yaml' from flag --log-format: expected text or json"), "\(format.1)")
        let secret = try run(["--brokers", "b:9092"], env: ["WEIR_KAFKA_SASL_PASSWORD_FILE": dir + "/missing"])
        #expect(secret.0 == 2)
        #expect(secret.1.contains("cannot read \(dir)/missing (named by environment variable WEIR_KAFKA_SASL_PASSWORD_FILE)"), "\(secret.1)")
        let noBrokers = try run([], env: [:])
        #expect(noBrokers.0 == 2)
        #expect(noBrokers.1.contains("WEIR_BROKERS"), "\(noBrokers.1)")
    }
}
