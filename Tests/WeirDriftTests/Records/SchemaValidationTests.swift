import Foundation
import Testing
import WeirStats
import WeirTestSupport
@testable import WeirDrift

/// Emitted records validate against schemas/*.schema.json with Python's `jsonschema` (an
/// independent validator), and the validator does reject broken records.
@Suite struct SchemaValidationTests {
    @Test func driftAlertAndRetrainRecordsValidate() throws {
        var lines: [String] = []
        // numeric and categorical monitors with a drifting stream, through the gate
        var num = try FieldMonitor(numericConfig("amount", window: 500, reference: 2_000, cap: 300))
        var cat = try FieldMonitor(MonitorConfig(feature: "merchant", kind: .categorical, window: .count(500),
                                                 reference: .firstEvents(2_000)))
        cat.categoryNames = ["a", "b", "c", "d\"quoted\"\n"]
        var gate = DriftGate(config: GateConfig(defaultPolicy: DriftPolicy(windowsToOpen: 2, windowsToResolve: 2),
                                                     retrainCooldownWindows: 0))
        var g = SeededGenerator(seed: 9)
        for w in 0..<(4 + 12) {
            let n = w < 4 ? 500 : 500
            let drift = (w >= 8 && w < 11)
            for _ in 0..<n {
                num.feed(g.nextGaussian() + (drift ? 2 : 0))
                cat.feed(category: drift ? Int32(3) : Int32(g.next() % 3))
            }
            num.addDeadLetters(Int(g.next() % 3))
            let recs = num.drainRecords() + cat.drainRecords()
            lines += recs.map { $0.json() }
            lines += gate.observe(recs).jsonLines
        }
        #expect(lines.contains { $0.contains("\"record\":\"alert\"") && $0.contains("\"status\":\"opened\"") })
        #expect(lines.contains { $0.contains("\"status\":\"resolved\"") })
        #expect(lines.contains { $0.contains("\"record\":\"retrain_request\"") })
        #expect(lines.contains { $0.contains("\"sampled\":true") })
        // rolling and event-time records, and a sketch-backed reference
        var roll = try FieldMonitor(MonitorConfig(feature: "r", window: .eventTime(width: 10), reference: .rolling))
        for t in 0..<100 { roll.feed(Double(t % 13), eventTime: Int64(t)) }
        roll.advanceWatermark(to: 100)
        var sk = numericConfig("s", window: 100, reference: 5_000)
        sk.referenceCap = 500
        var skm = try FieldMonitor(sk)
        skm.feedAll((0..<5_100).map { Double($0 % 97) })
        lines += (roll.drainRecords() + skm.drainRecords()).map { $0.json() }
        // a score monitor under a fixed model: a warm-up window, then a judged one (scored_by)
        var sc = try FieldMonitor(MonitorConfig(feature: "score", window: .count(200), reference: .firstEvents(500),
                                                rescoring: RescoringConfig(dimension: 2, warmupLabels: 800)))
        for i in 0..<900 {
            [g.nextGaussian(), Double(i % 5)].withUnsafeBufferPointer { sc.feed(score: 0.5, inputs: $0) }
            sc.scoreAwaitingWindows(by: ScoringState(modelVersion: 2, labelsLearned: i)) { 1 / (1 + exp(-$0[0] - $0[1])) }
            lines += sc.drainRecords().map { $0.json() }
        }
        #expect(lines.contains { $0.contains("\"undefined_reason\":\"model_warm_up\"") })
        #expect(lines.contains { $0.contains("\"scored_by\":{\"model_version\":2,\"labels_learned\":899}") })
        // gate.calibrate: records with their calibrated thresholds (numeric and categorical)
        let calibrated = try GateCalibrationTests.run(seed: 3, rate: 0.05, windows: 3).values.flatMap { $0.map { $0.json() } }
        #expect(calibrated.count == 6 && calibrated.allSatisfy { $0.contains("\"calibration\":{") })
        lines += calibrated
        let (status, output) = try validateWithSchemas(lines, name: "all")
        #expect(status == 0, "\(output)")
        #expect(output.contains("ok \(lines.count)"))
    }

    @Test func validatorRejectsBrokenRecords() throws {
        let good = syntheticRecord("f", window: 0, psi: 0.3).json()
        let (okStatus, _) = try validateWithSchemas([good], name: "good")
        #expect(okStatus == 0)
        let broken = [
            good.replacingOccurrences(of: "\"psi\":0.3", with: "\"psi\":-0.3"),            // negative PSI
            good.replacingOccurrences(of: "\"psi\":0.3", with: "\"psi\":NaN"),             // NaN
            good.replacingOccurrences(of: "\"n_current\":1000,", with: ""),                // missing field
            good.replacingOccurrences(of: "\"kind\":\"numeric\"", with: "\"kind\":\"categorical\""),  // wrong keys
            good.replacingOccurrences(of: "\"undefined_reason\":null", with: "\"undefined_reason\":\"empty_current\""),
            good.replacingOccurrences(of: "\"current\":[0.5,0.5]", with: "\"current\":[1.5,0.5]"),   // share > 1
            good.replacingOccurrences(of: ",\"current\":[0.5,0.5]", with: ""),                     // histogram without current
            good.replacingOccurrences(of: "\"first_event_time\":null", with: "\"first_event_time\":\"x\""),
            good.replacingOccurrences(of: "\"scored_by\":null", with: "\"scored_by\":{\"model_version\":1}"),
        ]
        for (i, b) in broken.enumerated() {
            #expect(b != good)
            let (status, output) = try validateWithSchemas([b], name: "broken\(i)")
            #expect(status != 0, "case \(i) accepted: \(output)")
        }
    }
}
