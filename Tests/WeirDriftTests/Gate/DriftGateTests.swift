import Foundation
import Testing
import WeirStats
import WeirTestSupport
@testable import WeirDrift

/// A numeric drift record with given statistics (for gate logic tests).
func syntheticRecord(_ feature: String, window: Int, psi: Double, ks: Double = 0, p: Double = 1,
                     n: Int = 1_000) -> DriftRecord {
    let stats = NumericStatistics(psi: psi, ksStatistic: ks, ksPValue: p, ksMethod: "asymptotic", wasserstein: 0,
                                  wassersteinNormalized: 0, jsDistance: 0)
    return DriftRecord(feature: feature, kind: .numeric, window: window, windowType: .count,
                       windowStart: Int64(window * n), windowEnd: Int64((window + 1) * n),
                       reference: ReferenceInfo(kind: .firstEvents, id: "\(feature)/ref", n: 5_000),
                       nReference: 5_000, nCurrent: n, statistics: .numeric(stats), quality: QualityFigures(count: n),
                       sampling: SamplingInfo(cap: 10_000, seen: n, kept: n),
                       histogram: DriftHistogram(edges: [0], referenceShares: [0.5, 0.5], currentShares: [0.5, 0.5]))
}

let drifted = 0.3, between = 0.15, clear = 0.01

@Suite struct DriftGateTests {
    /// End to end: monitor → gate on a stream that drifts at a known point and comes back.
    @Test func driftAtKnownPointOpensOneAlertAfterKWindowsOneRequestAndResolves() throws {
        // reference > 10,000 values: KS uses the asymptotic p-value (the exact one is slow in debug builds)
        var m = try FieldMonitor(numericConfig("amount", window: 1_000, reference: 12_000))
        var gate = DriftGate(config: GateConfig(defaultPolicy: DriftPolicy(windowsToOpen: 3, windowsToResolve: 3)))
        var g = SeededGenerator(seed: 21)
        var values = (0..<12_000).map { _ in g.nextGaussian() }
        for w in 0..<80 {
            let shift = (20..<40).contains(w) ? 1.0 : 0.0   // drift in windows 20...39
            for _ in 0..<1_000 { values.append(g.nextGaussian() + shift) }
        }
        m.feedAll(values)
        let records = m.drainRecords()
        #expect(records.count == 80)
        #expect(records.map(\.drifted) == (0..<80).map { (20..<40).contains($0) })
        var alerts: [AlertRecord] = []
        var requests: [RetrainRequestRecord] = []
        for r in records {
            let out = gate.observe([r])
            alerts += out.alerts
            requests += out.retrainRequests
        }
        #expect(alerts.count == 2)
        let opened = try #require(alerts.first)
        #expect(opened.status == .opened && opened.window == 22 && opened.windows == [20, 21, 22])
        #expect(opened.consecutive == 3 && opened.retrainRequested == true && opened.reasons.contains("psi"))
        #expect(opened.severity == "critical")   // a 1σ shift: PSI > 0.5
        let resolved = try #require(alerts.last)
        #expect(resolved.status == .resolved && resolved.window == 42 && resolved.windows == [40, 41, 42])
        #expect(resolved.alertID == opened.alertID && resolved.openedWindow == 22 && resolved.retrainRequested == nil)
        #expect(requests.count == 1)
        let req = try #require(requests.first)
        #expect(req.window == 22 && req.fields == ["amount"] && req.alertIDs == [opened.alertID] && req.windows == [20, 21, 22])
        #expect(req.referenceID == "amount/first_events/12000" && req.requestID == "weir-gate-retrain-0")
        #expect(gate.openAlerts.isEmpty)
    }

    @Test func alertAndRetrainCooldownsAreRespected() {
        let policy = DriftPolicy(windowsToOpen: 2, windowsToResolve: 1, alertCooldownWindows: 5)
        var gate = DriftGate(config: GateConfig(defaultPolicy: policy, retrainCooldownWindows: 20))
        var script: [Int: Double] = [:]
        for w in 0..<40 { script[w] = clear }
        for w in [0, 1, 3, 4, 5, 6, 7, 8, 30, 31] { script[w] = drifted }
        var alerts: [AlertRecord] = [], requests: [RetrainRequestRecord] = []
        for w in 0..<40 {
            let out = gate.observe([syntheticRecord("f", window: w, psi: script[w]!)])
            alerts += out.alerts; requests += out.retrainRequests
        }
        let summary = alerts.map { "\($0.status.rawValue)@\($0.window)" }
        // opened at 1; resolved at 2 (cooldown to 7); the run 3…8 may open only after window 7
        #expect(summary == ["opened@1", "resolved@2", "opened@8", "resolved@9", "opened@31", "resolved@32"])
        #expect(alerts.filter { $0.status == .opened }.map(\.retrainRequested) == [true, false, true])
        #expect(requests.map(\.window) == [1, 31])   // 8 is within 20 windows of the request at 1
        #expect(requests.map(\.requestID) == ["weir-gate-retrain-0", "weir-gate-retrain-1"])
    }

    @Test func runsNeedKConsecutiveAndHysteresisHoldsAnAlertOpen() {
        var gate = DriftGate(config: GateConfig(defaultPolicy: DriftPolicy(minWindowSize: 100, windowsToOpen: 3, windowsToResolve: 2)))
        func step(_ w: Int, _ psi: Double, n: Int = 1_000) -> GateOutput { gate.observe([syntheticRecord("f", window: w, psi: psi, n: n)]) }
        // drifted, drifted, between (breaks the run), drifted, drifted: no alert
        for (w, p) in [drifted, drifted, between, drifted, drifted].enumerated() { #expect(step(w, p).alerts.isEmpty) }
        // a too-small window neither extends nor breaks the run: the third drifted window opens
        #expect(step(5, drifted, n: 10).alerts.isEmpty)
        #expect(step(6, drifted).alerts.map(\.status) == [.opened])
        // between the two levels: stays open however long
        for w in 7..<20 { #expect(step(w, between).alerts.isEmpty) }
        #expect(step(20, clear).alerts.isEmpty)
        #expect(step(21, clear).alerts.map(\.status) == [.resolved])
    }

    @Test func ksRuleNeedsBothPValueAndEffectFloor() {
        let p = DriftPolicy()
        func verdict(_ ks: Double, _ pv: Double) -> DriftPolicy.Verdict {
            p.evaluate(syntheticRecord("f", window: 0, psi: 0.01, ks: ks, p: pv).statistics, nCurrent: 1_000)
        }
        #expect(verdict(0.03, 1e-12) == .clear)            // significant but trivial (large-n false alarm)
        #expect(verdict(0.08, 1e-12) == .between)          // above the resolve level, below the floor
        #expect(verdict(0.2, 1e-12) == .drifted(reasons: ["ks"]))
        #expect(verdict(0.2, 0.2) == .clear)
        #expect(p.evaluate(.undefined(.emptyCurrent), nCurrent: 0) == .insufficient(reason: "empty_current"))
    }

    @Test func fieldsOpeningTogetherShareOneRequestAndPoliciesArePerField() {
        let loose = DriftPolicy(psiThreshold: 0.05, windowsToOpen: 1)
        var gate = DriftGate(config: GateConfig(name: "g", defaultPolicy: DriftPolicy(windowsToOpen: 2),
                                                     fieldPolicies: ["score": loose]))
        var out = gate.observe([syntheticRecord("amount", window: 0, psi: drifted), syntheticRecord("score", window: 0, psi: 0.07)])
        #expect(out.alerts.map(\.feature) == ["score"])
        out = gate.observe([syntheticRecord("amount", window: 1, psi: drifted), syntheticRecord("score", window: 1, psi: 0.07)])
        #expect(out.alerts.map(\.feature) == ["amount"])
        #expect(out.retrainRequests.isEmpty)   // within the retrain cooldown of window 0
        var g2 = DriftGate(config: GateConfig(name: "g", defaultPolicy: DriftPolicy(windowsToOpen: 1)))
        out = g2.observe([syntheticRecord("b", window: 3, psi: drifted), syntheticRecord("a", window: 3, psi: 0.9)])
        #expect(out.alerts.map(\.feature) == ["a", "b"])
        #expect(out.alerts.map(\.severity) == ["critical", "warning"])
        #expect(out.retrainRequests.count == 1)
        #expect(out.retrainRequests.first?.fields == ["a", "b"])
        #expect(out.retrainRequests.first?.alertIDs == ["g-alert-0", "g-alert-1"])
    }

    /// 200 windows of 50,000 values each from the reference's distribution: no alert, no request.
    /// Each window is fed in full (10,000,000 values through quality counters and a reservoir capped at
    /// 5,000 per window, as the product samples large windows); values are seeded Uniform(0,1): a pool
    /// of 1,000,000 fresh values, each window a 50,000-value run from a random offset (the pool is
    /// disjoint from the 100,000 reference values). Pre-generated so the debug build stays fast.
    @Test func noDriftOver200WindowsOf50000OpensNothing() throws {
        let windows = 200, size = 50_000, cap = 5_000
        var g = SeededGenerator(seed: 77)
        var all = [Double](repeating: 0, count: 1_100_000)
        all.withUnsafeMutableBufferPointer { for i in $0.indices { $0[i] = Double(g.next() >> 11) * 0x1p-53 } }
        let reference = Array(all[..<100_000])
        let pool = Array(all[100_000...])
        var m = try FieldMonitor(numericConfig("score", window: size, reference: 100_000, cap: cap))
        m.feedAll(reference)
        var gate = DriftGate()
        var opened = 0, requests = 0, records = 0, maxPSI = 0.0, minP = 1.0
        pool.withUnsafeBufferPointer { p in
            for _ in 0..<windows {
                let start = Int(g.next() % UInt64(pool.count - size))
                m.feed(contentsOf: UnsafeBufferPointer(rebasing: p[start..<(start + size)]))
                let recs = m.drainRecords()
                records += recs.count
                for r in recs {
                    #expect(r.sampling == SamplingInfo(cap: cap, seen: size, kept: cap))
                    maxPSI = max(maxPSI, r.numeric?.psi ?? .infinity)
                    minP = min(minP, r.numeric?.ksPValue ?? 0)
                }
                let out = gate.observe(recs)
                opened += out.alerts.count
                requests += out.retrainRequests.count
            }
        }
        #expect(records == windows)
        #expect(opened == 0 && requests == 0)
        #expect(maxPSI < 0.05)
        #expect(minP > 0)
    }

    @Test func snapshotRestoreContinueEqualsUninterrupted() throws {
        let policy = DriftPolicy(windowsToOpen: 2, windowsToResolve: 2, alertCooldownWindows: 3)
        let config = GateConfig(defaultPolicy: policy, retrainCooldownWindows: 4)
        var g = SeededGenerator(seed: 5)
        var batches: [[DriftRecord]] = []
        for w in 0..<300 {
            batches.append(["a", "b", "c"].map { f in
                let u = g.next() % 10
                let psi = u < 4 ? drifted : (u < 6 ? between : clear)
                return syntheticRecord(f, window: w, psi: psi, n: u == 9 ? 5 : 1_000)
            })
        }
        var straight = DriftGate(config: config)
        var expected: [String] = []
        for b in batches { expected += straight.observe(b).jsonLines }
        #expect(expected.count > 20)   // the stream exercises opens, resolves and requests
        for cut in [1, 150, 299] {
            var first = DriftGate(config: config)
            var got: [String] = []
            for b in batches[..<cut] { got += first.observe(b).jsonLines }
            let bytes = first.snapshot()
            var restored = try DriftGate(config: config, restoring: bytes)
            #expect(restored == first)
            for b in batches[cut...] { got += restored.observe(b).jsonLines }
            #expect(got == expected)
            #expect(restored == straight)
            // damaged snapshots are errors, never crashes
            #expect(throws: SerializationError.self) { try DriftGate(config: config, restoring: Array(bytes.dropLast(3))) }
            #expect(throws: SerializationError.self) { try DriftGate(config: config, restoring: [0x57] + bytes) }
        }
    }
}
