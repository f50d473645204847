import BenchSupport
import Foundation

/// One participant's figures in one run.
struct Row {
    enum Kind { case read, weirRun, kafkaPeer, replay, memPeer }
    var run: Int
    var name: String
    var kind: Kind
    /// Events per second on the peers' clock (first event in → last output flushed); for kcat,
    /// N / whole process; for in-memory participants, their own processing time.
    var rate: Double?
    var wallSeconds: Double
    var rssMiB: Double?
    var outputs = "-"
    var outputsOK: Bool?
    var logLoss: Double?
    var accuracy: Double?
    var note = ""
}

/// The benchmark: set-up (broker, load, count check) and the participants of each run.
struct FraudBench {
    let opts: Options
    var broker: BenchBroker?
    var bootstrap = ""
    var marks = TopicMarks()
    var rows: [Row] = []
    var expected: Expected { Expected(n: opts.n) }

    init(opts: Options) { self.opts = opts }

    mutating func setUp() throws {
        let b = try BenchBroker(binary: opts.brokerBinary)
        broker = b
        bootstrap = b.bootstrap
        print("  mock broker at \(bootstrap)")
        let load: ChildResult
        if opts.load == "weir" {
            load = try runChild(opts.weir, ["produce", opts.events, "--topic", "events", "--brokers", bootstrap,
                                            "--key-field", "user", "--timestamp-field", "ts"], keepStdout: false)
        } else {
            load = try runChild(opts.python, ["\(opts.shared)/load_events.py", bootstrap, opts.events], cwd: opts.shared, keepStdout: false)
        }
        guard load.status == 0 else { throw BenchError.failed("loading failed (\(load.status)): \(load.stderr)") }
        let summary = load.stderr.split(separator: "\n").last.map(String.init) ?? ""
        print("  loaded with \(opts.load == "weir" ? "weir produce" : "load_events.py") in \(fmt(load.wallSeconds)) s "
              + "(\(Int(Double(opts.n) / load.wallSeconds)) events/s whole process): \(summary)")
        let count = try runChild(opts.kcat, ["-C", "-b", bootstrap, "-t", "events", "-o", "beginning", "-e", "-q"], timeout: 300)
        let got = countLines(count.stdout)
        print("  kcat counts \(got) events in topic `events`")
        guard got == opts.n else { throw BenchError.failed("topic `events` holds \(got) records, expected \(opts.n)") }
        marks = try readContractTopics(kcat: opts.kcat, bootstrap: bootstrap).marks
    }

    mutating func measure(run: Int) throws {
        print("\n== run \(run) (load average \(loadAverage()))")
        if opts.peers.contains("kcat") { try kcatRead(run) }
        for v in opts.variants { try weirRun(run, v) }
        if opts.peers.contains("plain") { try kafkaPeer(run, name: "plain confluent-kafka + River", script: "peer_plain.py") }
        if opts.peers.contains("quix") { try kafkaPeer(run, name: "Quix Streams + River", script: "peer_quix.py") }
        var mem: ContractOutputs?
        if opts.peers.contains("mem") { mem = try memPeer(run) }
        if opts.peers.contains("replay") { try replay(run, against: mem) }
    }

    private mutating func add(_ r: Row) {
        rows.append(r)
        let rate = r.rate.map { "\(Int($0)) events/s" } ?? "-"
        print("  \(r.name): \(rate), \(fmt(r.wallSeconds)) s whole process, peak RSS \(r.rssMiB.map { fmt($0, 0) } ?? "?") MiB, "
              + "outputs \(r.outputs)\(r.logLoss.map { ", log loss \(fmt($0, 5))" } ?? "")\(r.note.isEmpty ? "" : " — \(r.note)")")
    }

    private mutating func kcatRead(_ run: Int) throws {
        let r = try runChild(opts.kcat, ["-C", "-b", bootstrap, "-t", "events", "-o", "beginning", "-e", "-q"], keepStdout: false, timeout: 300)
        guard r.status == 0 else { throw BenchError.failed("kcat exited \(r.status): \(r.stderr)") }
        add(Row(run: run, name: "kcat -C -e -q (raw read)", kind: .read, rate: Double(opts.n) / r.wallSeconds,
                wallSeconds: r.wallSeconds, rssMiB: r.peakRSSMiB, note: "whole process, output discarded"))
    }

    private mutating func weirRun(_ run: Int, _ v: Variant) throws {
        let tag = UUID().uuidString.prefix(8).lowercased()
        let group = "fraudbench-\(tag)"
        // A fresh topology name per run: `weir run` restores the newest checkpoint of
        // `<name>.changelog`, which would resume a previous run at its end.
        let topology = try renamed(v.topology ?? opts.topology, suffix: tag)
        defer { try? FileManager.default.removeItem(atPath: topology) }
        var args = ["run", topology, "--brokers", bootstrap, "--stop-at-end", "--group-id", group]
        // Metrics stay on (the default), on any free port so concurrent runs never clash.
        if !v.args.contains("--metrics-port") { args += ["--metrics-port", "0"] }
        args += v.args
        let r = try runChild(opts.weir, args, keepStdout: false)
        var row = Row(run: run, name: v.name, kind: .weirRun, rate: nil, wallSeconds: r.wallSeconds, rssMiB: r.peakRSSMiB)
        if r.status != 0 {
            row.note = "exited \(r.status): " + r.stderr.split(separator: "\n").suffix(3).joined(separator: " | ")
        }
        // "weir run: done, N events in S s from the first event to the last output flushed (R events/s)"
        if let done = r.stderr.split(separator: "\n").last(where: { $0.hasPrefix("weir run: done") }).map(String.init) {
            let events = number(after: "done, ", in: done) ?? 0
            let secs = number(after: "events in ", in: done) ?? 0
            if secs > 0 { row.rate = events / secs }
            if Int(events) != opts.n { row.note += " processed \(Int(events)) events, expected \(opts.n)" }
        } else {
            row.note += " (no 'weir run: done' line)"
        }
        row.logLoss = number(after: "log loss ", in: r.stderr)
        row.accuracy = number(after: "accuracy ", in: r.stderr)
        let warnings = r.stderr.split(separator: "\n").filter { $0.contains("warning") || $0.contains("error") }
        if !warnings.isEmpty { row.note += " \(warnings.count) warning/error lines, first: \(warnings[0].prefix(160))" }
        try outputs(into: &row)
        add(row)
    }

    /// A copy of `path` whose top-level `name:` has `-<suffix>` appended.
    private func renamed(_ path: String, suffix: String) throws -> String {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard let i = lines.firstIndex(where: { $0.hasPrefix("name:") }) else { throw BenchError.failed("\(path) has no top-level name:") }
        lines[i] = lines[i].trimmingCharacters(in: .whitespaces) + "-\(suffix)"
        let out = "\(scratch)/topology-\(suffix).yaml"
        try lines.joined(separator: "\n").write(toFile: out, atomically: true, encoding: .utf8)
        return out
    }

    private mutating func outputs(into row: inout Row) throws {
        let (out, now) = try newOutputs(kcat: opts.kcat, bootstrap: bootstrap, since: marks)
        marks = now
        let c = out.check(expected)
        row.outputs = c.text
        row.outputsOK = c.ok
    }

    private mutating func kafkaPeer(_ run: Int, name: String, script: String) throws {
        let out = "\(scratch)/\(script)-\(run).json"
        let r = try runChild(opts.python, ["\(opts.shared)/\(script)", bootstrap, "--n", "\(opts.n)", "--out", out],
                             cwd: opts.shared, keepStdout: false)
        var row = Row(run: run, name: name, kind: .kafkaPeer, rate: nil, wallSeconds: r.wallSeconds, rssMiB: r.peakRSSMiB)
        if r.status == 0, let j = json(out) {
            row.rate = (j["events_per_s"] as? NSNumber)?.doubleValue
            let s = j["summary"] as? [String: Any]
            row.logLoss = (s?["logloss"] as? NSNumber)?.doubleValue
            row.accuracy = (s?["accuracy"] as? NSNumber)?.doubleValue
            row.note = "startup \(j["startup_seconds"] ?? "?") s"
        } else {
            row.note = "exited \(r.status): " + r.stderr.split(separator: "\n").suffix(3).joined(separator: " | ")
        }
        try outputs(into: &row)
        add(row)
    }

    private mutating func memPeer(_ run: Int) throws -> ContractOutputs? {
        let out = "\(scratch)/mem-\(run).json"
        let r = try runChild(opts.python, ["\(opts.shared)/peer_river_mem.py", opts.events, "--out", out], cwd: opts.shared, keepStdout: false)
        var row = Row(run: run, name: "River in memory (peer_river_mem.py, full)", kind: .memPeer, rate: nil,
                      wallSeconds: r.wallSeconds, rssMiB: r.peakRSSMiB)
        guard r.status == 0, let j = json(out) else {
            row.note = "exited \(r.status): " + r.stderr.split(separator: "\n").suffix(3).joined(separator: " | ")
            add(row)
            return nil
        }
        row.rate = (j["full_events_per_s"] as? NSNumber)?.doubleValue
        let s = j["summary"] as? [String: Any]
        row.logLoss = (s?["logloss"] as? NSNumber)?.doubleValue
        row.accuracy = (s?["accuracy"] as? NSNumber)?.doubleValue
        row.note = "own clock, pre-parsed dicts; features phase \(j["features_events_per_s"] ?? "?")/s, core \(j["core_events_per_s"] ?? "?")/s"
        let o = ContractOutputs.files(drift: out.replacingOccurrences(of: ".json", with: "-drift.jsonl"),
                                      alerts: out.replacingOccurrences(of: ".json", with: "-alerts.jsonl"),
                                      windows: out.replacingOccurrences(of: ".json", with: "-windows.jsonl"))
        let c = o.check(expected)
        row.outputs = c.text
        row.outputsOK = c.ok
        add(row)
        return o
    }

    private mutating func replay(_ run: Int, against mem: ContractOutputs?) throws {
        let dir = "\(scratch)/replay-\(run)"
        let r = try runChild(opts.weir, ["replay", opts.topology, "--input", opts.events, "--output-dir", dir], keepStdout: false)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var row = Row(run: run, name: "weir replay (file, no Kafka)", kind: .replay, rate: nil, wallSeconds: r.wallSeconds, rssMiB: r.peakRSSMiB)
        guard r.status == 0 else {
            row.note = "exited \(r.status): " + r.stderr.split(separator: "\n").suffix(3).joined(separator: " | ")
            add(row)
            return
        }
        // "weir replay: N events in S s (R events/s): ..."
        if let line = r.stderr.split(separator: "\n").last(where: { $0.hasPrefix("weir replay:") }).map(String.init),
           let events = number(after: "weir replay: ", in: line), let secs = number(after: "events in ", in: line), secs > 0 {
            row.rate = events / secs
        }
        row.logLoss = number(after: "log loss ", in: r.stderr)
        row.accuracy = number(after: "accuracy ", in: r.stderr)
        let o = ContractOutputs.files(drift: "\(dir)/drift.jsonl", alerts: "\(dir)/alerts.jsonl", windows: "\(dir)/windows.jsonl")
        let c = o.check(expected)
        row.outputs = c.text
        row.outputsOK = c.ok
        row.note = "own clock (decode→outputs written), output files incl. 1 score per event"
        if let mem {
            let d = o.compare(with: mem)
            row.note += d.differences == 0 ? "; drift/alerts/windows identical to the in-memory peer (stats within 1e-9)"
                : "; \(d.differences) differences from the in-memory peer, first: \(d.first ?? "")"
            if d.differences != 0 { row.outputsOK = false }
        }
        add(row)
    }

    private func json(_ path: String) -> [String: Any]? {
        guard let d = FileManager.default.contents(atPath: path) else { return nil }
        return try? JSONSerialization.jsonObject(with: d) as? [String: Any]
    }
}

func fmt(_ x: Double, _ digits: Int = 2) -> String { String(format: "%.\(digits)f", x) }
