import Foundation
import Testing
import WeirTestSupport
import WeirTopology
@testable import WeirRuntime

/// `weir replay benchmarks/fraud-contract.yaml` on 100,000 events of ../shared/bench's generator
/// reproduces the in-memory River peer (peer_river_mem.py, file order): the same drift records,
/// alerts and global windows, statistics within 1e-9, and the peer's final log loss and accuracy.
/// Fixtures: scripts/fixtures/runtime_gen_contract.py.
@Suite(.timeLimit(.minutes(3)))
struct ContractParityTests {
    static func fixture(_ name: String) throws -> URL {
        try #require(Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Fixtures"))
    }

    /// The contract fixture's events, decompressed with gzip (present on every Debian system)
    /// into `dir/events.jsonl`; returns that path.
    static func contractEvents(in dir: String) throws -> String {
        let gz = Process()
        gz.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        gz.arguments = ["gzip", "-dc", try fixture("contract-100k.jsonl.gz").path]
        FileManager.default.createFile(atPath: dir + "/events.jsonl", contents: nil)
        gz.standardOutput = FileHandle(forWritingAtPath: dir + "/events.jsonl")
        try gz.run()
        gz.waitUntilExit()
        #expect(gz.terminationStatus == 0)
        return dir + "/events.jsonl"
    }

    static func lines(_ url: URL) throws -> [[String: Any]] {
        try String(contentsOf: url, encoding: .utf8).split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
        }
    }

    static func number(_ d: [String: Any], _ k: String) -> Double { (d[k] as! NSNumber).doubleValue }

    @Test func replayReproducesThePeer() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("weir-contract-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        _ = try Self.contractEvents(in: dir)

        // The contract's reference is the first 20% of the events: 20,000 of these 100,000.
        let text = try String(contentsOfFile: repoRoot.appendingPathComponent("benchmarks/fraud-contract.yaml").path, encoding: .utf8)
        let scaled = text.replacingOccurrences(of: "reference: {first_events: 200000}", with: "reference: {first_events: 20000}")
        #expect(scaled != text)
        let compiled = try TopologyCompiler.compile(try TopologyLoader.parse(scaled, file: "fraud-contract.yaml"))
        var sink = try JSONLDirectorySink(directory: dir + "/out")
        let pipeline = try ReplayRunner().run(compiled, input: dir + "/events.jsonl", into: &sink)
        try sink.close()

        // Drift records: same windows and features, same verdicts, statistics within 1e-9.
        let drift = try Self.lines(URL(fileURLWithPath: dir + "/out/drift.jsonl"))
        let peerDrift = try Self.lines(try Self.fixture("contract-100k-peer-drift.jsonl"))
        #expect(drift.count == peerDrift.count && drift.count == 24)
        for (a, b) in zip(drift, peerDrift) {
            #expect(a["window"] as? Int == b["window"] as? Int && a["feature"] as? String == b["feature"] as? String)
            #expect(a["n"] as? Int == b["n"] as? Int && a["drift"] as? Bool == b["drift"] as? Bool)
            for k in ["psi", "ks"] { #expect(isClose(Self.number(a, k), Self.number(b, k), relative: 1e-9), "\(k) \(a) vs \(b)") }
            #expect(isClose(Self.number(a, "p"), Self.number(b, "p"), relative: 1e-9, absolute: 1e-300), "p \(a) vs \(b)")
        }
        // Alerts: the same ones.
        let alerts = try Self.lines(URL(fileURLWithPath: dir + "/out/alerts.jsonl"))
        let peerAlerts = try Self.lines(try Self.fixture("contract-100k-peer-alerts.jsonl"))
        #expect(alerts.map { "\($0["window"]!)/\($0["feature"]!)/\($0["consecutive"]!)" }
                == peerAlerts.map { "\($0["window"]!)/\($0["feature"]!)/\($0["consecutive"]!)" })
        // The global window: same bounds and counts, sums within 1e-9.
        let windows = try Self.lines(URL(fileURLWithPath: dir + "/out/windows.jsonl"))
        let peerWindows = try Self.lines(try Self.fixture("contract-100k-peer-windows.jsonl"))
        #expect(windows.count == peerWindows.count && windows.count == 1)
        for (w, p) in zip(windows, peerWindows) {
            let v = w["values"] as! [String: Any]
            #expect(Self.number(w, "start") == Self.number(p, "start") && Self.number(w, "end") == Self.number(p, "end"))
            for k in ["count", "labeled", "positives", "max"] { #expect(Self.number(v, k) == Self.number(p, k), "\(k)") }
            for k in ["sum", "mean"] { #expect(isClose(Self.number(v, k), Self.number(p, k), relative: 1e-9), "\(k)") }
        }
        // The model: the peer prints log loss and accuracy to 5 decimals; Weir's round to the same.
        let summary = try JSONSerialization.jsonObject(with: Data(contentsOf: try Self.fixture("contract-100k-peer-summary.json"))) as! [String: Any]
        let m = try #require(pipeline.model).prequential
        #expect(pipeline.counters.labelled == summary["labeled"] as? Int)
        #expect(abs(m.logLoss - Self.number(summary, "logloss")) <= 5e-6, "\(m.logLoss)")
        #expect(abs(m.accuracy - Self.number(summary, "accuracy")) <= 5e-6, "\(m.accuracy)")
    }
}
