import Foundation
import Testing
import WeirStats
import WeirTestSupport
@testable import WeirDrift

/// Monitors + gate as the topology wires them: a feature and a model score, fed per event.
@Suite struct DriftPipelineTests {
    static let configs = [
        numericConfig("amount", window: 1_000, reference: 12_000),
        numericConfig("score", window: 1_000, reference: 12_000),
        MonitorConfig(feature: "merchant", kind: .categorical, window: .count(1_000), reference: .firstEvents(12_000)),
    ]

    static func events() -> [(Double, Double, Int32)] {
        var g = SeededGenerator(seed: 51)
        return (0..<(12_000 + 40_000)).map { i in
            let w = (i - 12_000) / 1_000
            let drift = i >= 12_000 && (10..<20).contains(w)
            let a = g.nextGaussian() + (drift ? 1 : 0)
            let s = 1 / (1 + exp(-a))   // the score follows the feature
            return (a, s, Int32(g.next() % 4))
        }
    }

    static func run(_ p: inout DriftPipeline, _ evs: ArraySlice<(Double, Double, Int32)>) -> [String] {
        let ia = p.index(of: "amount")!, isc = p.index(of: "score")!, im = p.index(of: "merchant")!
        var lines: [String] = []
        for (k, (a, s, m)) in evs.enumerated() {
            p.feed(field: ia, .number(a)); p.feed(field: isc, .number(s)); p.feed(field: im, .category(m))
            if k % 250 == 0 { lines += p.drain().jsonLines }
        }
        return lines + p.drain().jsonLines
    }

    @Test func featureAndScoreDriftOpenAlertsAndOneRetrainRequest() throws {
        var p = try DriftPipeline(monitors: Self.configs, gate: GateConfig(retrainCooldownWindows: 100))
        let lines = Self.run(&p, Self.events()[...])
        let recs = try lines.map(parseJSON)
        #expect(recs.filter { $0["record"] as? String == "drift" }.count == 120)
        let opened = recs.filter { $0["status"] as? String == "opened" }
        #expect(Set(opened.compactMap { $0["feature"] as? String }) == ["amount", "score"])
        #expect(opened.allSatisfy { $0["window"] as? Int == 12 })
        let requests = recs.filter { $0["record"] as? String == "retrain_request" }
        #expect(requests.count == 1)
        #expect(requests.first?["fields"] as? [String] == ["amount", "score"])
        #expect(recs.filter { $0["status"] as? String == "resolved" }.count == 2)
        let (status, output) = try validateWithSchemas(lines, name: "pipeline")
        #expect(status == 0, "\(output)")
    }

    @Test func snapshotRestoreContinueEqualsUninterrupted() throws {
        let evs = Self.events()
        var straight = try DriftPipeline(monitors: Self.configs)
        let expected = Self.run(&straight, evs[...])
        for cut in [6_000, 23_500] {
            var first = try DriftPipeline(monitors: Self.configs)
            var got = Self.run(&first, evs[..<cut])
            var restored = try DriftPipeline(monitors: Self.configs, gate: GateConfig(), restoring: first.snapshot())
            got += Self.run(&restored, evs[cut...])
            #expect(got == expected)
        }
        #expect(throws: MonitorError.self) { try DriftPipeline(monitors: [Self.configs[0], Self.configs[0]]) }
    }

    /// An increment with the monitors as their changes since a base (WDPL v2): restored onto that
    /// base it is the monitors exactly (the snapshot bytes equal), it is much smaller than the
    /// monitors whole, and without the base it is refused naming the monitor.
    @Test func monitorsWrittenAsChangesRestoreOntoTheirBase() throws {
        let evs = Self.events()
        var p = try DriftPipeline(monitors: Self.configs)
        _ = Self.run(&p, evs[..<20_850])
        let base = p.snapshot()
        let (revisions, bases) = (p.referenceRevisions, p.monitorBases)
        _ = Self.run(&p, evs[20_850..<20_950])  // within a 1,000-event window
        let whole = p.snapshot(unchangedReferences: revisions)
        let changes = p.snapshot(unchangedReferences: revisions, monitorBases: bases)
        #expect(changes.count * 3 < whole.count, "changes \(changes.count) bytes, whole \(whole.count)")
        let onto = try DriftPipeline(monitors: Self.configs, gate: GateConfig(), restoring: base)
        let restored = try DriftPipeline(monitors: Self.configs, gate: GateConfig(), restoring: changes, base: onto)
        #expect(restored.snapshot() == p.snapshot())
        #expect(throws: SerializationError.self) {
            try DriftPipeline(monitors: Self.configs, gate: GateConfig(), restoring: changes, base: nil)
        }
    }
}
