import Foundation
import Testing
import WeirStats
import WeirTestSupport
@testable import WeirDrift

/// The contract mode against the golden output of shared/bench/workload.py's DriftMonitor on the
/// same deterministic stream (scripts/fixtures/gen_drift_contract_fixture.py).
@Suite struct ContractDriftMonitorTests {
    /// Reproduces the fixture generator's inputs bit-exactly (SplitMix64 seed 42).
    static func events(_ n: Int) -> [(Double, Double, Double)] {
        var g = SeededGenerator(seed: 42)
        func draw() -> Double { Double(g.next() >> 11) * 0x1p-53 }
        var out: [(Double, Double, Double)] = []
        out.reserveCapacity(n)
        for i in 0..<n {
            let u = draw(), v = draw(), w = draw()
            var amount = 10 + 90 * u
            if i >= 50_000 { amount = amount * 1.03 }
            let dage = Double(Int(w * 13))
            let score = i >= 60_000 ? pow(v, 1 + Double(i - 60_000) / 200_000) : v
            out.append((amount, dage, score))
        }
        return out
    }

    @Test func matchesWorkloadDriftMonitorOutput() throws {
        let golden = try jsonLines("contract_drift.jsonl")
        let n = 100_000
        var m = try ContractDriftMonitor(referenceCount: ContractDriftMonitor.referenceCount(totalEvents: n))
        #expect(m.referenceCount == 20_000)
        var lines: [(String, String)] = []
        for (a, b, c) in Self.events(n) where m.add(a, b, c) {
            // the workload emits per feature: drift record, then the alert if the run reached 2
            let d = m.drainDriftRecords(), al = m.drainAlerts()
            for r in d {
                lines.append(("drift", r.json()))
                if let x = al.first(where: { $0.feature == r.feature }) { lines.append(("alerts", x.json())) }
            }
        }
        #expect(lines.count == golden.count)
        var exactText = 0
        for (i, (topic, text)) in lines.enumerated() where i < golden.count {
            let g = golden[i]
            #expect(g["topic"] as? String == topic)
            let gt = try #require(g["json"] as? String)
            if withoutP(gt) == withoutP(text) { exactText += 1 }
            let mine = try parseJSON(text), theirs = try parseJSON(gt)
            #expect(Set(mine.keys) == Set(theirs.keys))
            #expect(mine["window"] as? Int == theirs["window"] as? Int)
            #expect(mine["feature"] as? String == theirs["feature"] as? String)
            #expect(mine["n"] as? Int == theirs["n"] as? Int)
            #expect(mine["drift"] as? Bool == theirs["drift"] as? Bool)
            #expect(mine["consecutive"] as? Int == theirs["consecutive"] as? Int)
            for k in ["psi", "ks"] {
                let a = try #require(mine[k] as? Double), b = try #require(theirs[k] as? Double)
                #expect(isClose(a, b, relative: 1e-12), "\(k) \(a) vs \(b) in \(gt)")
            }
            let pa = try #require(mine["p"] as? Double), pb = try #require(theirs["p"] as? Double)
            #expect(isClose(pa, pb, relative: 1e-9, absolute: 1e-300), "p \(pa) vs \(pb)")
        }
        // key order and number formatting as json.dumps(separators=(",", ":")): identical text apart from
        // the p-value digits (kstwo.sf agrees with scipy to ~1e-11 relative at p ~ 1e-7, not bit-for-bit)
        #expect(exactText == golden.count, "only \(exactText) of \(golden.count) lines identical")
    }

    /// Judging windows on another thread gives the inline monitor's records, in the same order,
    /// once collected; a window's records are only ready once collected, `completePending(wait:
    /// false)` collects only a finished judgement, and a snapshot taken after collecting restores
    /// to a monitor that continues exactly like the original.
    @Test func backgroundEvaluationGivesTheInlineRecords() throws {
        let n = 100_000
        var inline = try ContractDriftMonitor(referenceCount: ContractDriftMonitor.referenceCount(totalEvents: n))
        var bg = inline
        bg.evaluatesInBackground = true
        var inlineLines: [String] = [], bgLines: [String] = []
        var pendingSeen = 0, collectedWithoutWaiting = 0
        var restored: ContractDriftMonitor?
        func collect(wait: Bool) -> Bool {
            guard bg.completePending(wait: wait) else { return false }
            bgLines += bg.drainDriftRecords().map { $0.json() } + bg.drainAlerts().map { $0.json() }
            return true
        }
        for (i, (a, b, c)) in Self.events(n).enumerated() {
            if inline.add(a, b, c) {
                inlineLines += inline.drainDriftRecords().map { $0.json() } + inline.drainAlerts().map { $0.json() }
            }
            _ = bg.add(a, b, c)
            if bg.hasPendingEvaluation {
                pendingSeen += 1
                let early = bg.drainDriftRecords()
                #expect(early.isEmpty)   // not ready before it is collected
                // As the pipeline does at each batch: collect only if done; every 3,000 events, wait.
                if collect(wait: false) { collectedWithoutWaiting += 1 } else if i % 3000 == 2999 {
                    let collected = collect(wait: true)
                    #expect(collected)
                }
            }
            if i == 55_555 {
                _ = collect(wait: true)
                restored = try ContractDriftMonitor(serialized: bg.serialized())
            }
        }
        _ = collect(wait: true)
        #expect(pendingSeen > 0)
        #expect(collectedWithoutWaiting > 0)
        #expect(inlineLines.filter { !$0.contains("consecutive") }.count == 24)  // 8 windows × 3 features
        #expect(bgLines == inlineLines)
        // The restored copy (inline from there on) continues with the same records as the original.
        var r = try #require(restored)
        var tail: [String] = []
        for (a, b, c) in Self.events(n)[55_556...] where r.add(a, b, c) {
            tail += r.drainDriftRecords().map { $0.json() } + r.drainAlerts().map { $0.json() }
        }
        #expect(!tail.isEmpty)
        #expect(Array(inlineLines.suffix(tail.count)) == tail)
    }

    /// A snapshot that leaves out the complete reference (a checkpoint increment) is a fraction of
    /// the whole one, restores onto the monitor of its base to the same bytes as the whole
    /// snapshot, and is refused without that base (or while the reference is still being built,
    /// when it is written whole anyway).
    @Test func aSnapshotWithoutTheReferenceRestoresOntoItsBase() throws {
        let n = 100_000
        var m = try ContractDriftMonitor(referenceCount: ContractDriftMonitor.referenceCount(totalEvents: n))
        let events = Self.events(n)
        for (a, b, c) in events.prefix(12_345) { _ = m.add(a, b, c) }
        // the reference is not complete: it is written whole either way
        #expect(m.serialized(includingReference: false) == m.serialized())
        for (a, b, c) in events[12_345..<20_000] { _ = m.add(a, b, c) }
        let base = try ContractDriftMonitor(serialized: m.serialized())
        for (a, b, c) in events[20_000..<43_210] where m.add(a, b, c) { _ = m.drainDriftRecords(); _ = m.drainAlerts() }
        let whole = m.serialized(), lean = m.serialized(includingReference: false)
        #expect(lean.count * 5 < whole.count, "\(lean.count) bytes without the reference, \(whole.count) with it")
        var r = ByteReader(lean)
        let restored = try ContractDriftMonitor(deserializing: &r, base: base)
        #expect(r.isAtEnd && restored.serialized() == whole)
        #expect(throws: SerializationError.self) { try ContractDriftMonitor(serialized: lean) }
        var fresh = ByteReader(lean)
        let unready = try ContractDriftMonitor(referenceCount: 20_000)
        #expect(throws: SerializationError.self) { try ContractDriftMonitor(deserializing: &fresh, base: unready) }
    }

    /// A copy of a monitor taken while a window is being judged collects the same records as the
    /// original (the job is shared, and collecting it twice is harmless).
    @Test func copiesOfAMonitorWithAJobInFlightCollectTheSameRecords() throws {
        var m = try ContractDriftMonitor(features: ["a"], referenceCount: 100, windowSize: 50)
        m.evaluatesInBackground = true
        var g = SeededGenerator(seed: 5)
        while !m.hasPendingEvaluation {
            var x = g.nextGaussian()
            _ = withUnsafePointer(to: &x) { m.add(UnsafeBufferPointer(start: $0, count: 1)) }
        }
        var copy = m
        let collectedOriginal = m.completePending(), collectedCopy = copy.completePending()
        #expect(collectedOriginal && collectedCopy)
        let a = m.drainDriftRecords(), b = copy.drainDriftRecords()
        #expect(a.count == 1)
        #expect(a == b)
    }

    func withoutP(_ s: String) -> String {
        s.replacingOccurrences(of: #""p":[^,}]*"#, with: "\"p\":_", options: .regularExpression)
    }

    @Test func finalPartialWindowIsNotEvaluatedAndBadConfigThrows() throws {
        var m = try ContractDriftMonitor(features: ["a"], referenceCount: 100, windowSize: 50)
        var g = SeededGenerator(seed: 3)
        var closes = 0
        for _ in 0..<(100 + 50 * 3 + 49) {
            var x = g.nextGaussian()
            if withUnsafePointer(to: &x, { m.add(UnsafeBufferPointer(start: $0, count: 1)) }) { closes += 1 }
        }
        #expect(closes == 4)   // reference + 3 windows
        #expect(m.drainDriftRecords().count == 3)
        #expect(throws: MonitorError.self) { try ContractDriftMonitor(features: [], referenceCount: 1) }
        #expect(throws: MonitorError.self) { try ContractDriftMonitor(referenceCount: 0) }
    }
}
