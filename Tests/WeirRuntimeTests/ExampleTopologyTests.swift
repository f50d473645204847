import Foundation
import Testing
import WeirTestSupport
import WeirTopology
@testable import WeirRuntime

/// The example topologies beyond the demo run end to end on generated streams with a known
/// ground truth: `iot-sensors.yaml` (online linear regression, session windows, ISO-8601 time)
/// and `clickstream.yaml` (categorical drift, window-to-window reference).
@Suite struct ExampleTopologyTests {
    static func replay(_ topology: String, lines: [String]) throws -> (Pipeline, String) {
        let dir = tempDir()
        let input = dir + "/events.jsonl"
        try (lines.joined(separator: "\n") + "\n").write(toFile: input, atomically: true, encoding: .utf8)
        let compiled = try TopologyCompiler.compile(try TopologyLoader.load(path: repoRoot.appendingPathComponent(topology).path))
        var sink = try JSONLDirectorySink(directory: dir + "/out")
        let pipeline = try ReplayRunner(batchSize: 512).run(compiled, input: input, into: &sink)
        try sink.close()
        return (pipeline, dir + "/out")
    }

    /// power_w = 100 + 3·temperature + 50·vibration + N(0, 5²) on half the readings; the model
    /// (AdaGrad on standardised inputs) must learn it: its prequential RMSE ends far below the
    /// spread of power_w and close to the noise, the score records carry predictions, and the
    /// champion is published as a model-version record naming its inputs. Temperature shifts by
    /// +15 °C from reading 70,000 on: the temperature monitor reports drift, vibration does not.
    @Test func iotSensorsLearnsLinearPowerModelAndSeesTemperatureDrift() throws {
        var rng = SeededGenerator(seed: 11)
        func normal() -> Double {
            let u1 = Double.random(in: Double.ulpOfOne..<1, using: &rng), u2 = Double.random(in: 0..<1, using: &rng)
            return (-2 * log(u1)).squareRoot() * cos(2 * .pi * u2)
        }
        let n = 100_000, shiftAt = 70_000
        var lines: [String] = []
        var powers: [Double] = []
        var t: Int64 = 1_767_225_600_000  // 2026-01-01
        for i in 0..<n {
            t += Int64.random(in: 1...400, using: &rng)
            let device = "d\(Int.random(in: 0..<50, using: &rng))"
            let temp = 40 + 8 * normal() + (i >= shiftAt ? 15 : 0)
            let vib = abs(0.5 + 0.2 * normal())
            let firmware = ["v1", "v2", "v3"][Int.random(in: 0..<3, using: &rng)]
            var line = #"{"device":"\#(device)","time":"\#(SchemaEventGenerator.iso8601(t))","temperature_c":\#(temp),"vibration_g":\#(vib),"firmware":"\#(firmware)""#
            if Bool.random(using: &rng) {
                let power = 100 + 3 * temp + 50 * vib + 5 * normal()
                powers.append(power)
                line += #","power_w":\#(power)"#
            }
            lines.append(line + "}")
        }
        let (pipeline, out) = try Self.replay("topologies/iot-sensors.yaml", lines: lines)
        #expect(pipeline.counters.deadLetters == 0)
        #expect(pipeline.counters.scored == n)
        #expect(pipeline.counters.labelled == powers.count)
        let model = try #require(pipeline.model)
        #expect(model.isRegression)
        let mean = powers.reduce(0, +) / Double(powers.count)
        let spread = (powers.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(powers.count)).squareRoot()
        // Prequential (test-then-train) RMSE includes the learning phase (the intercept has to
        // climb to ~250 W) and the shift; a model that learned nothing would sit near `spread`.
        #expect(model.prequentialRMSE < 0.75 * spread, "RMSE \(model.prequentialRMSE) vs spread \(spread)")
        let scores = try readJSONL(out + "/scores.jsonl")
        #expect(scores.count == n)
        // The last labelled events: predictions within a few noise widths of the truth.
        let tail = scores.suffix(2_000).compactMap { r -> Double? in
            guard let y = (r["label"] as? NSNumber)?.doubleValue else { return nil }
            return abs((r["score"] as! NSNumber).doubleValue - y)
        }
        #expect(tail.count > 500)
        #expect(tail.reduce(0, +) / Double(tail.count) < 15, "mean absolute error of the last labelled events")

        let models = try readJSONL(out + "/models.jsonl")
        let version = try #require(models.first { $0["type"] as? String == "model_version" })
        #expect(version["task"] as? String == "linear")
        #expect(version["optimizer"] as? String == "adagrad")
        #expect((version["inputs"] as? [String])?.first == "temperature_c")

        let drift = try readJSONL(out + "/drift.jsonl")
        func drifted(_ feature: String) -> [Bool] { drift.filter { $0["feature"] as? String == feature }.map { $0["drifted"] as? Bool ?? false } }
        #expect(drifted("temperature_c").contains(true), "\(drift.count) drift records")
        #expect(!drifted("vibration_g").isEmpty)
        #expect(drifted("vibration_g").filter { $0 }.count <= 1)
    }

    /// Page views whose device mix and page popularity flip at view 60,000: the categorical
    /// monitors (chi-square / PSI against the previous window) report drift on `device` and
    /// `page` only around the flip, and the gate raises an alert; dwell time never drifts.
    @Test func clickstreamSeesCategoricalDriftAtTheFlip() throws {
        var rng = SeededGenerator(seed: 5)
        let n = 120_000, flipAt = 60_000
        let pages = (0..<40).map { "p\($0)" }
        let weights = (0..<40).map { 1.0 / Double($0 + 1) }
        let total = weights.reduce(0, +)
        func pick(_ w: [Double], _ sum: Double) -> Int {
            var u = Double.random(in: 0..<sum, using: &rng)
            for (i, x) in w.enumerated() { u -= x; if u < 0 { return i } }
            return w.count - 1
        }
        var lines: [String] = []
        var t: Int64 = 1_767_225_600_000
        for i in 0..<n {
            t += Int64.random(in: 1...200, using: &rng)
            let flipped = i >= flipAt
            let p = pick(weights, total)
            let page = pages[flipped ? 39 - p : p]
            let device = flipped ? (Double.random(in: 0..<1, using: &rng) < 0.7 ? "desktop" : "mobile")
                                 : (Double.random(in: 0..<1, using: &rng) < 0.7 ? "mobile" : "desktop")
            var line = #"{"ts":\#(t),"visitor":"v\#(Int.random(in: 0..<2000, using: &rng))","page":"\#(page)","device":"\#(device)","dwell_ms":\#(Int.random(in: 100...60_000, using: &rng))"#
            if Bool.random(using: &rng) { line += #","referrer":"\#(["google", "direct", "news"][Int.random(in: 0..<3, using: &rng)])""# }
            lines.append(line + "}")
        }
        let (pipeline, out) = try Self.replay("topologies/clickstream.yaml", lines: lines)
        #expect(pipeline.counters.deadLetters == 0)
        #expect(pipeline.counters.records == n)
        let drift = try readJSONL(out + "/drift.jsonl")
        func windows(_ feature: String, drifted: Bool) -> [Int] {
            drift.filter { $0["feature"] as? String == feature && ($0["drifted"] as? Bool ?? false) == drifted }
                .compactMap { ($0["window"] as? NSNumber)?.intValue }
        }
        // Count windows of 20,000: the flip falls on the boundary of windows 2 and 3 (0-based),
        // so window 3 is the first that differs from its predecessor.
        #expect(windows("device", drifted: true) == [3], "\(windows("device", drifted: true))")
        #expect(windows("page", drifted: true) == [3], "\(windows("page", drifted: true))")
        #expect(windows("dwell_ms", drifted: true).isEmpty)
        #expect(!windows("referrer", drifted: false).isEmpty)
        let alerts = try readJSONL(out + "/alerts.jsonl")
        #expect(!alerts.isEmpty)
        #expect(alerts.allSatisfy { ["device", "page"].contains($0["feature"] as? String ?? "") }, "\(alerts)")
    }

    /// `weir generate --topology`: events for each example topology's schema decode without a
    /// single dead letter (bounds, categories, time formats honoured), the same seed gives the
    /// same events, and drift moves the drifting fields but not the control.
    @Test(arguments: ["topologies/card-fraud.yaml", "topologies/iot-sensors.yaml", "topologies/clickstream.yaml"])
    func schemaGeneratorWritesValidEventsForEveryExample(_ topology: String) throws {
        let spec = try TopologyLoader.load(path: repoRoot.appendingPathComponent(topology).path)
        let gen = SchemaEventGenerator(spec: spec, seed: 9, driftAt: 3_000)
        #expect(gen.event(17) == SchemaEventGenerator(spec: spec, seed: 9, driftAt: 3_000).event(17))
        #expect(gen.event(17) != SchemaEventGenerator(spec: spec, seed: 10, driftAt: 3_000).event(17))
        let lines = (0..<6_000).map(gen.event)
        let (pipeline, _) = try Self.replay(topology, lines: lines)
        #expect(pipeline.counters.deadLetters == 0)
        #expect(pipeline.counters.records == 6_000)
        let objects = try lines.map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        let numeric = spec.schema.filter { ($0.type == .double || $0.type == .int) && $0.name != gen.labelField }.map(\.name)
        func mean(_ f: String, _ r: Range<Int>) -> Double {
            let xs = objects[r].compactMap { ($0[f] as? NSNumber)?.doubleValue }
            return xs.reduce(0, +) / Double(max(1, xs.count))
        }
        let control = try #require(gen.controlField)
        #expect(abs(mean(control, 3_000..<6_000) - mean(control, 0..<3_000)) < 0.2 * abs(mean(control, 0..<3_000)) + 1)
        if let moved = numeric.first(where: { $0 != control }) {
            #expect(mean(moved, 3_000..<6_000) > mean(moved, 0..<3_000), "\(moved) should drift up")
        }
    }
}
