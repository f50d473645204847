import Foundation
import Testing
import WeirTestSupport

/// An output record read back with kcat: its topic, headers and value.
struct OutputRecord {
    var topic: String
    var headers: [String: String]
    var value: String
    /// The dedup identity of `docs/records.md`: the topic and `weir.id` (source topic, partition,
    /// offset, seq).
    var identity: String { "\(topic)|\(headers["weir.id"] ?? "?")" }
}

/// A standalone `weir broker` (a separate process, so it survives the `weir run` it serves).
final class BrokerProcess {
    let process = Process()
    let bootstrap: String
    init(topics: [String], dir: String) throws {
        let bsFile = dir + "/bootstrap"
        process.executableURL = weirBinary
        process.arguments = ["broker", "--bootstrap-file", bsFile] + topics.flatMap { ["--topic", $0] }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(20)
        while !FileManager.default.fileExists(atPath: bsFile) && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        bootstrap = try String(contentsOfFile: bsFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
    }
    deinit {
        process.terminate()
        process.waitUntilExit()
    }

    func read(_ topic: String) throws -> [OutputRecord] {
        let text = try tool("kcat", ["-C", "-b", bootstrap, "-t", topic, "-o", "beginning", "-e", "-q", "-f", "%h\\t%s\\n"])
        return text.split(separator: "\n", omittingEmptySubsequences: true).map { line in
            let parts = line.split(separator: "\t", maxSplits: 1, omittingEmptySubsequences: false)
            var headers: [String: String] = [:]
            for h in parts[0].split(separator: ",") {
                let kv = h.split(separator: "=", maxSplits: 1)
                if kv.count == 2 { headers[String(kv[0])] = String(kv[1]) }
            }
            return OutputRecord(topic: topic, headers: headers, value: parts.count > 1 ? String(parts[1]) : "")
        }
    }
}

/// A `weir run` child process with its stderr in a file.
final class RunProcess {
    let process = Process()
    let errPath: String
    init(_ args: [String], dir: String, tag: String) throws {
        errPath = dir + "/run-\(tag).err"
        FileManager.default.createFile(atPath: errPath, contents: nil)
        process.executableURL = weirBinary
        process.arguments = ["run"] + args
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle(forWritingAtPath: errPath)
        try process.run()
    }
    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGCONT)
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }
    var stderr: String { (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "" }
    /// For a failure message: the log's last 40 lines other than progress lines (`[   1.0s] …`),
    /// then its last 2 progress lines. A bounded partitioned run that does not end says there
    /// what it waits for (`BoundedRunWait`, every 10 s without new events).
    var diagnosis: String {
        let lines = stderr.split(separator: "\n")
        let progress = lines.filter { $0.hasPrefix("[") }
        return (lines.filter { !$0.hasPrefix("[") }.suffix(40) + ["(last progress lines:)"] + progress.suffix(2)).joined(separator: "\n")
    }
    /// Waits until a progress line reports processed events.
    func waitForEvents(timeout: TimeInterval) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline && process.isRunning {
            if eventCounts.contains(where: { $0 > 0 }) { return true }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return false
    }
    /// Waits until the last two progress lines (one a second) show the event count growing: the
    /// run is processing now.
    func waitForProcessing(timeout: TimeInterval) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline && process.isRunning {
            let counts = eventCounts
            if counts.count >= 2 && counts[counts.count - 1] > counts[counts.count - 2] { return true }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return false
    }
    /// The event counts of the progress lines (`[   1.0s] N events …`), in order.
    var eventCounts: [Int] {
        stderr.split(separator: "\n").compactMap { line in
            guard line.hasPrefix("["), let close = line.firstIndex(of: "]") else { return nil }
            return Int(line[line.index(after: close)...].split(separator: " ").first ?? "")
        }
    }
    /// Waits until stderr contains `text`.
    func waitFor(_ text: String, timeout: TimeInterval) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline && process.isRunning {
            if stderr.contains(text) { return true }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return stderr.contains(text)
    }
    /// Whether a progress line reported processed events.
    var processedEvents: Bool { eventCounts.contains { $0 > 0 } }
    func signal(_ s: Int32) { kill(process.processIdentifier, s) }
    /// Waits for the exit; nil on timeout.
    func wait(_ seconds: TimeInterval) -> Int32? {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        if process.isRunning { return nil }
        process.waitUntilExit()
        return process.terminationStatus
    }
}

/// Crash, shutdown and fencing of `weir run` on a standalone `weir broker`. See
/// docs/fault-tolerance.md for what the embedded broker does and does not enforce.
@Suite(.serialized, .timeLimit(.minutes(5)), .requires(.kcat))
struct FaultToleranceTests {
    /// The card-fraud topology scaled to the embedded broker (reference 5,000, windows 2,500).
    static func setUp(events: Int, driftAt: Int, seed: Int) throws -> (dir: String, topology: String, lines: [String]) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("weir-ft-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let topology = dir + "/card-fraud.yaml"
        let original = try String(contentsOfFile: repoRoot.appendingPathComponent("topologies/card-fraud.yaml").path, encoding: .utf8)
        let scaled = original.replacingOccurrences(of: "reference: {first_events: 20000}", with: "reference: {first_events: 5000}")
            .replacingOccurrences(of: "window: {count: 5000}", with: "window: {count: 2500}")
        try scaled.write(toFile: topology, atomically: true, encoding: .utf8)
        try tool(weirBinary.path, ["generate", "--count", String(events), "--drift-at", String(driftAt), "--seed", String(seed), "--users", "300", "--output", dir + "/gen.jsonl"])
        var lines = try String(contentsOfFile: dir + "/gen.jsonl", encoding: .utf8).split(separator: "\n").map(String.init)
        lines.insert(#"{"event_id":"bad1","ts":1700000005000,"user":"u1","amount":"#, at: 700)
        try (lines.joined(separator: "\n") + "\n").write(toFile: dir + "/input.jsonl", atomically: true, encoding: .utf8)
        return (dir, topology, lines)
    }

    /// Produces `lines` in `chunks` pieces, `pause` seconds apart, on a background thread.
    static func produceGradually(_ lines: [String], chunks: Int, pause: TimeInterval, broker: String, dir: String) -> Thread {
        let t = Thread {
            let size = (lines.count + chunks - 1) / chunks
            for c in 0..<chunks {
                let part = lines[min(c * size, lines.count)..<min((c + 1) * size, lines.count)]
                let path = dir + "/chunk-\(c).jsonl"
                try? (part.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
                _ = try? tool("kcat", ["-P", "-b", broker, "-t", "transactions", "-l", path])
                Thread.sleep(forTimeInterval: pause)
            }
        }
        t.start()
        return t
    }

    /// Every topic `weir run` uses, created up front (the embedded broker has no CreateTopics).
    /// Scores get 4 partitions: the embedded broker keeps only ~5 MiB per partition, and 20,000
    /// scores with their headers and duplicates are more than that.
    static let topics = ["transactions:1", "card-fraud.changelog:1", "card-fraud.scores:4"]
        + allSinks.filter { $0 != "scores" }.map { "card-fraud.\($0):1" }

    static let runFlags = ["--checkpoint-interval", "500", "--session-timeout-ms", "3000", "-X", "heartbeat.interval.ms=300",
                           "--metrics-port", "off"]

    /// The uninterrupted reference: `weir replay` of the same input (it gives the same drift,
    /// alert, retrain and score records as `weir run`, see EndToEndTests).
    static func reference(_ topology: String, _ dir: String) throws -> [String: [String]] {
        try tool(weirBinary.path, ["replay", topology, "--input", dir + "/input.jsonl", "--output-dir", dir + "/replay"])
        var out: [String: [String]] = [:]
        for kind in ["scores", "drift", "alerts", "retrain"] {
            out[kind] = ((try? String(contentsOfFile: dir + "/replay/\(kind).jsonl", encoding: .utf8)) ?? "")
                .split(separator: "\n").map(String.init)
        }
        return out
    }

    /// At least once: `weir run` killed with SIGKILL at 5 seeded random points while input
    /// arrives, restarted each time, then run to the end. Every good event has a score; the
    /// duplicates are counted and byte-identical to their first copy; after dropping them by
    /// their headers, scores, drift, alert and retrain records equal the uninterrupted run's.
    @Test func crashAtLeastOnce() throws {
        try crashTest(guarantee: "at_least_once", seed: 17)
    }

    func crashTest(guarantee: String, seed: UInt64) throws {
        let (dir, topology, lines) = try Self.setUp(events: 20_000, driftAt: 10_000, seed: Int(seed))
        let broker = try BrokerProcess(topics: Self.topics, dir: dir)
        // Input keeps arriving while the runs are killed, so every kill lands mid-stream.
        let producer = Self.produceGradually(lines, chunks: 20, pause: 1.2, broker: broker.bootstrap, dir: dir)
        var rng = SeededGenerator(seed: seed)  // SplitMix64: the seeded kill points
        let args = [topology, "--brokers", broker.bootstrap, "--guarantee", guarantee] + Self.runFlags
        var kills = 0
        var midStream = 0
        for i in 0..<5 {
            let run = try RunProcess(args, dir: dir, tag: "\(i)")
            // Kill at a seeded random point after the run started processing (it joins the group
            // first; on a loaded machine a join can take long: then it is killed while joining).
            if run.waitForEvents(timeout: 25) { midStream += 1 }
            Thread.sleep(forTimeInterval: Double.random(in: 0.05...1.2, using: &rng))
            #expect(run.process.isRunning, "run \(i) exited early: \(run.stderr)")
            run.signal(SIGKILL)
            _ = run.wait(10)
            kills += 1
        }
        while producer.isExecuting { Thread.sleep(forTimeInterval: 0.1) }
        let last = try RunProcess(args + ["--stop-at-end"], dir: dir, tag: "final")
        let status = last.wait(60)
        #expect(status == 0, "final run: \(last.stderr)")
        #expect(kills == 5)
        #expect(midStream >= 3, "only \(midStream) of 5 kills landed while processing")

        let expected = try Self.reference(topology, dir)
        let good = lines.count - 1
        #expect(expected["scores"]!.count == good)
        var allRecords: [OutputRecord] = []
        for kind in ["scores", "drift", "alerts", "retrain"] { allRecords += try broker.read("card-fraud.\(kind)") }
        // Drop duplicates by header identity; duplicates must be byte-identical to the first copy.
        var first: [String: String] = [:]
        var kept: [String: [String]] = [:]
        var duplicates = 0
        var committed: [String: Int] = [:]
        for r in allRecords {
            #expect(r.headers["weir.epoch"] != nil && OutputID(r.headers["weir.id"]) != nil, "no headers on \(r.value)")
            if guarantee == "exactly_once" {
                let txn = try #require(r.headers["weir.txn"], "no weir.txn on \(r.value)")
                let parts = txn.split(separator: "/")
                committed["\(parts.dropLast().joined(separator: "/"))", default: 0] += 1
            }
            if let f = first[r.identity] {
                duplicates += 1
                #expect(f == r.value, "duplicate \(r.identity) differs")
                continue
            }
            first[r.identity] = r.value
            kept[r.topic, default: []].append(r.value)
        }
        print("crash test (\(guarantee)): \(kills) kills (\(midStream) while processing), \(allRecords.count) output records, \(duplicates) duplicates dropped by headers")
        if guarantee == "exactly_once" {
            // Transactions Weir committed: the changelog's commit records (owner, epoch, record count).
            var closed: [String: Int] = [:]
            for r in try broker.read("card-fraud.changelog") where r.headers["weir.owner"] != nil {
                closed["\(r.headers["weir.owner"]!)/\(r.headers["weir.epoch"]!)"] = Int(r.headers["weir.records"]!)
            }
            var inTxn: [String: Int] = [:]
            var committedRecords: [String: [String]] = [:]
            var identities = Set<String>()
            for topic in Self.allSinks {
                for r in try broker.read("card-fraud.\(topic)") {
                    guard let txn = r.headers["weir.txn"] else { Issue.record("no weir.txn on \(topic) record"); continue }
                    let id = txn.split(separator: "/").dropLast().joined(separator: "/")
                    inTxn[id, default: 0] += 1
                    guard closed[id] != nil else { continue }
                    if topic != "dlq" && topic != "windows" && topic != "late" {
                        #expect(identities.insert(r.identity).inserted, "duplicate in committed transactions: \(r.identity)")
                    }
                    committedRecords[topic, default: []].append(r.value)
                }
            }
            for (id, n) in closed where n > 0 { #expect(inTxn[id] == n, "transaction \(id): \(inTxn[id] ?? 0) records, commit says \(n)") }
            #expect(closed.count >= 5)
            print("exactly once: \(closed.count) committed transactions, \(inTxn.count - closed.filter { $0.value > 0 }.count) with uncommitted records")
            #expect((committedRecords["scores"] ?? []).sorted() == expected["scores"]!.sorted(), "committed scores differ")
            for kind in ["drift", "alerts", "retrain"] {
                #expect((committedRecords[kind] ?? []).sorted() == expected[kind]!.sorted(), "committed \(kind) differ")
            }
        }
        let scores = kept["card-fraud.scores"] ?? []
        #expect(scores.count == good, "\(scores.count) scores after dedup, \(good) good events")
        #expect(scores.sorted() == expected["scores"]!.sorted(), "scores differ from the uninterrupted run")
        for kind in ["drift", "alerts", "retrain"] {
            let got = (kept["card-fraud.\(kind)"] ?? []).sorted()
            #expect(got == expected[kind]!.sorted(), "\(kind): \(got.count) records after dedup, \(expected[kind]!.count) uninterrupted")
        }
        #expect(expected["alerts"]!.count >= 1 && expected["retrain"]!.count >= 1)
    }

    /// Exactly once: the same kills; the records of transactions Weir committed (a changelog
    /// commit record of that owner and epoch exists; the embedded broker does not hide aborted
    /// ones) are exactly the uninterrupted run's outputs: no gap (each committed transaction has
    /// all the records its commit record counts), no duplicate.
    @Test func crashExactlyOnce() throws {
        try crashTest(guarantee: "exactly_once", seed: 29)
    }

    static let allSinks = ["scores", "features", "windows", "late", "drift", "alerts", "retrain", "models", "dlq"]

    /// SIGTERM mid-stream: `weir run` checkpoints and exits 0 within 10 s; a restart resumes
    /// exactly there: every good event is scored exactly once, no duplicate at all.
    @Test func gracefulShutdownResumesWithoutDuplicates() throws {
        let (dir, topology, lines) = try Self.setUp(events: 12_000, driftAt: 6_000, seed: 5)
        let broker = try BrokerProcess(topics: Self.topics, dir: dir)
        let producer = Self.produceGradually(lines, chunks: 12, pause: 1.0, broker: broker.bootstrap, dir: dir)
        let args = [topology, "--brokers", broker.bootstrap] + Self.runFlags
        for (i, sig) in [SIGTERM, SIGINT].enumerated() {
            let run = try RunProcess(args, dir: dir, tag: "graceful-\(i)")
            #expect(run.waitForEvents(timeout: 20), "run \(i) processed nothing: \(run.stderr)")
            Thread.sleep(forTimeInterval: 0.5)
            run.signal(sig)
            let started = Date()
            let status = run.wait(10)
            #expect(status == 0, "exit \(String(describing: status)) after signal \(sig): \(run.stderr)")
            #expect(Date().timeIntervalSince(started) < 10)
        }
        while producer.isExecuting { Thread.sleep(forTimeInterval: 0.1) }
        let last = try RunProcess(args + ["--stop-at-end"], dir: dir, tag: "final")
        #expect(last.wait(60) == 0, "final run: \(last.stderr)")
        let scores = try broker.read("card-fraud.scores")
        #expect(scores.count == lines.count - 1, "\(scores.count) score records for \(lines.count - 1) good events")
        #expect(Set(scores.map(\.identity)).count == scores.count)
        let expected = try Self.reference(topology, dir)
        #expect(scores.map(\.value).sorted() == expected["scores"]!.sorted())
        #expect(try broker.read("card-fraud.drift").map(\.value).sorted() == expected["drift"]!.sorted())
    }

    /// Zombie: an instance paused with SIGSTOP while a replacement takes over its partitions
    /// cannot commit a checkpoint when resumed: it exits 2 with a clear fenced error. The
    /// replacement finishes the input: nothing lost.
    @Test func pausedInstanceIsFencedWhenResumed() throws {
        let (dir, topology, lines) = try Self.setUp(events: 12_000, driftAt: 6_000, seed: 9)
        let broker = try BrokerProcess(topics: Self.topics, dir: dir)
        let producer = Self.produceGradually(lines, chunks: 16, pause: 1.0, broker: broker.bootstrap, dir: dir)
        let args = [topology, "--brokers", broker.bootstrap] + Self.runFlags
        let zombie = try RunProcess(args + ["--instance-id", "zombie"], dir: dir, tag: "zombie")
        #expect(zombie.waitForEvents(timeout: 20), "zombie processed nothing: \(zombie.stderr)")
        Thread.sleep(forTimeInterval: 1)
        zombie.signal(SIGSTOP)
        let replacement = try RunProcess(args + ["--instance-id", "replacement"], dir: dir, tag: "replacement")
        // The replacement gets the partition once the zombie's session (3 s) expires, then checkpoints.
        Thread.sleep(forTimeInterval: 7)
        zombie.signal(SIGCONT)
        let status = zombie.wait(20)
        #expect(status == 2, "zombie exit \(String(describing: status)): \(zombie.stderr)")
        #expect(zombie.stderr.contains("fenced"), "\(zombie.stderr)")
        while producer.isExecuting { Thread.sleep(forTimeInterval: 0.1) }
        replacement.signal(SIGTERM)
        #expect(replacement.wait(15) == 0, "replacement: \(replacement.stderr)")
        let last = try RunProcess(args + ["--stop-at-end"], dir: dir, tag: "final")
        #expect(last.wait(60) == 0, "final run: \(last.stderr)")
        let scores = try broker.read("card-fraud.scores")
        let offsets = Set(scores.compactMap { OutputID($0.headers["weir.id"])?.offset })
        #expect(offsets.count == lines.count - 1, "\(offsets.count) scored offsets for \(lines.count - 1) good events")
    }

    /// Rebalance: one instance of a topology and group is active at a time (its global state,
    /// the model and the drift windows, sees every event); others stand by
    /// (docs/fault-tolerance.md, "Rebalances and multiple instances"). A second instance joins
    /// mid-stream and stands by; the first leaves and the second takes over with the state; the
    /// first joins again and stands by; the second leaves and the first takes over again. The
    /// scores (with the per-key window features they were computed from), drift, alert and retrain
    /// records equal the uninterrupted run's, each exactly once (hand-overs are graceful: no duplicate, no gap).
    @Test func joiningAndLeavingInstancesHandTheStateOver() throws {
        let (dir, topology, lines) = try Self.setUp(events: 16_000, driftAt: 8_000, seed: 13)
        // Score records carry the model input: the per-key window features at each event.
        let text = try String(contentsOfFile: topology, encoding: .utf8)
        try text.replacingOccurrences(of: "  optimizer: sgd\n", with: "  optimizer: sgd\n  emit_features: true\n")
            .write(toFile: topology, atomically: true, encoding: .utf8)
        let broker = try BrokerProcess(topics: Self.topics, dir: dir)
        let producer = Self.produceGradually(lines, chunks: 24, pause: 1.5, broker: broker.bootstrap, dir: dir)
        let args = [topology, "--brokers", broker.bootstrap] + Self.runFlags
        var active = try RunProcess(args + ["--instance-id", "first"], dir: dir, tag: "first-1")
        #expect(active.waitForEvents(timeout: 20), "first processed nothing: \(active.stderr)")
        for (turn, (leaving, joining)) in [("first", "second"), ("second", "first")].enumerated() {
            let joined = try RunProcess(args + ["--instance-id", joining], dir: dir, tag: "\(joining)-\(turn + 2)")
            #expect(joined.waitFor("standby", timeout: 20), "\(joining) did not stand by: \(joined.stderr)")
            Thread.sleep(forTimeInterval: 1.5)
            #expect(!joined.processedEvents, "\(joining) processed events while \(leaving) was active: \(joined.stderr)")
            #expect(active.process.isRunning, "\(leaving) exited: \(active.stderr)")
            active.signal(SIGTERM)
            #expect(active.wait(15) == 0, "\(leaving) exit after SIGTERM: \(active.stderr)")
            #expect(joined.waitForEvents(timeout: 20), "\(joining) did not take over: \(joined.stderr)")
            #expect(joined.stderr.contains("restored checkpoint"), "\(joining) did not restore the state: \(joined.stderr)")
            active = joined
        }
        while producer.isExecuting { Thread.sleep(forTimeInterval: 0.1) }
        active.signal(SIGTERM)
        #expect(active.wait(15) == 0, "last active instance: \(active.stderr)")
        let last = try RunProcess(args + ["--stop-at-end"], dir: dir, tag: "final")
        #expect(last.wait(60) == 0, "final run: \(last.stderr)")

        let expected = try Self.reference(topology, dir)
        #expect(expected["scores"]!.count == lines.count - 1)
        for kind in ["scores", "drift", "alerts", "retrain"] {
            let records = try broker.read("card-fraud.\(kind)")
            #expect(Set(records.map(\.identity)).count == records.count, "\(kind): duplicates after graceful hand-overs")
            let got = records.map(\.value).sorted()
            #expect(got == expected[kind]!.sorted(), "\(kind): \(got.count) records, uninterrupted run \(expected[kind]!.count)")
        }
        #expect(expected["alerts"]!.count >= 1 && expected["scores"]!.allSatisfy { $0.contains(#""features":["#) })
    }
}
