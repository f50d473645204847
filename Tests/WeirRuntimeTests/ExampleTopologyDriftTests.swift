import Foundation
import Testing
import WeirTopology
@testable import WeirRuntime

/// The shipped gates of `iot-sensors.yaml` and `clickstream.yaml` on `weir generate --topology`
/// streams (SchemaEventGenerator): stationary, no drifted window and no alert; with drift injected,
/// every injected monitored field alerts within `consecutive + 1` windows of the change and no
/// monitor drifts or alerts before it. (The generator keeps the first numeric field as a control
/// that never drifts: `temperature_c`, `dwell_ms`.)
@Suite struct ExampleTopologyDriftTests {
    struct Run { var drift: [[String: Any]]; var alerts: [[String: Any]] }

    static func run(_ topology: String, count: Int, driftAt: Int?, stepMs: Int64) throws -> (Run, SchemaEventGenerator) {
        let path = repoRoot.appendingPathComponent(topology).path
        let spec = try TopologyLoader.load(path: path)
        let gen = SchemaEventGenerator(spec: spec, seed: 21, driftAt: driftAt, stepMs: stepMs)
        let dir = tempDir()
        try ((0..<count).map { gen.event($0) }.joined(separator: "\n") + "\n").write(toFile: dir + "/in.jsonl", atomically: true, encoding: .utf8)
        var sink = try JSONLDirectorySink(directory: dir + "/out")
        _ = try ReplayRunner(batchSize: 1024).run(try TopologyCompiler.compile(spec), input: dir + "/in.jsonl", into: &sink)
        try sink.close()
        func read(_ name: String) throws -> [[String: Any]] {
            guard let text = try? String(contentsOfFile: dir + "/out/\(name).jsonl", encoding: .utf8) else { return [] }
            return try text.split(separator: "\n").map { try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        }
        return (Run(drift: try read("drift"), alerts: try read("alerts")), gen)
    }

    /// Stationary and drifted runs of one topology; `changeWindow(records)` is the first window
    /// holding drifted events.
    static func check(_ topology: String, count: Int, driftAt: Int, stepMs: Int64, monitored: [String],
                      changeWindow: ([[String: Any]]) throws -> Int) throws {
        let (calm, gen) = try run(topology, count: count, driftAt: nil, stepMs: stepMs)
        let windows = Set(calm.drift.compactMap { $0["window"] as? Int })
        #expect(windows.count >= 8, "\(topology): \(windows.count) windows judged")
        let drifted = calm.drift.filter { $0["drifted"] as? Bool == true }.map { "\($0["feature"]!)@\($0["window"]!) \($0["drift_reasons"]!)" }
        #expect(drifted.isEmpty, "\(topology) stationary: drifted \(drifted)")
        #expect(calm.alerts.isEmpty, "\(topology) stationary: \(calm.alerts.count) alerts")

        let spec = try TopologyLoader.load(path: repoRoot.appendingPathComponent(topology).path)
        let consecutive = try #require(spec.drift?.gate.consecutive)
        let (shifted, _) = try run(topology, count: count, driftAt: driftAt, stepMs: stepMs)
        let change = try changeWindow(shifted.drift)
        let early = shifted.drift.filter { ($0["window"] as! Int) < change && $0["drifted"] as? Bool == true }
        #expect(early.isEmpty, "\(topology): drifted before the change (window \(change)): \(early.map { "\($0["feature"]!)@\($0["window"]!)" })")
        let opened = shifted.alerts.filter { $0["status"] as? String == "opened" }
        #expect(opened.allSatisfy { ($0["window"] as! Int) >= change }, "\(topology): alert before window \(change)")
        let injected = monitored.filter { $0 != gen.controlField && $0 != "score" }   // the score is not injected; it is held to "none before"
        #expect(!injected.isEmpty)
        for f in injected {
            let a = opened.first { $0["feature"] as? String == f }
            let w = a?["window"] as? Int
            #expect(w != nil && w! <= change + consecutive, "\(topology): \(f) alert at \(String(describing: w)), change at window \(change), consecutive \(consecutive)")
        }
        print("\(topology): stationary \(windows.count) windows (\(calm.drift.count) records), \(drifted.count) drifted, \(calm.alerts.count) alerts; drift injected: change at window \(change), alerts opened \(opened.map { "\($0["feature"]!)@\($0["window"]!)" })")
        if let c = gen.controlField, monitored.contains(c) {
            #expect(!opened.contains { $0["feature"] as? String == c }, "\(topology): control \(c) alerted")
        }
    }

    /// clickstream: count windows of 20,000 against the previous window, consecutive 1; 12 windows,
    /// drift from event 120,000 = the start of window 6.
    @Test func clickstreamStationaryAndInjected() throws {
        try Self.check("topologies/clickstream.yaml", count: 240_000, driftAt: 120_000, stepMs: 10,
                       monitored: ["page", "referrer", "device", "dwell_ms"]) { _ in 6 }
    }

    /// iot-sensors: 15-minute event-time windows after a 50,000-event reference, consecutive 3;
    /// one reading a second, so a window holds ~900; drift from reading 60,000 (the change's window
    /// is the record whose [window_start, window_end) holds its event time).
    @Test func iotSensorsStationaryAndInjected() throws {
        let driftAt = 60_000
        try Self.check("topologies/iot-sensors.yaml", count: 68_000, driftAt: driftAt, stepMs: 1_000,
                       monitored: ["temperature_c", "vibration_g", "score"]) { recs in
            let t = Int(1_700_000_000_000 + Int64(driftAt) * 1_000)
            let r = try #require(recs.first { ($0["window_start"] as! Int) <= t && t < ($0["window_end"] as! Int) })
            return r["window"] as! Int
        }
    }
}
