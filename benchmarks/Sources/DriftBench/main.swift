// DriftBench: WeirDrift's product paths against the issue-5 targets, with the workload contract's
// Python drift step (shared/bench/workload.py DriftMonitor, numpy + scipy) in the same run.
//   (a) FieldMonitor.feed per numeric value (quality + reservoir, count windows)      target < 50 ns
//   (b) FieldMonitor window close: 10,000 values vs a 100,000-value reference
//       (sort + PSI + KS + Wasserstein + JS + record)                                   target < 2 ms
//   (c) ContractDriftMonitor on the contract (3 features, ref 200,000, windows 10,000), per event,
//       and the Python contract step on the same values (peer_contract.py), ratio
//   (d) DriftGate.observe per record, DriftRecord.json() per record
//   (e) score monitor under a fixed model (issue 18): window close re-scoring 20,000 reference
//       inputs and 5,000 window inputs of 13 doubles with a logistic scorer, then comparing  target < 2 ms
// Allocation counts need LD_PRELOAD=<build>/libMallocInterposerSwift.so.
import BenchSupport
import Foundation
import WeirDrift
import WeirStats


print("DriftBench — WeirDrift (release), \(Date())")
var g = SplitMix64(seed: 7)
let data = (0..<1_048_576).map { _ in g.nextGaussian() }

// MARK: (a) feed
do {
    // window larger than the measured run, so (a) is the feed alone; the reservoir is full (steady state)
    var m = try FieldMonitor(MonitorConfig(feature: "x", window: .count(1 << 40), reference: .firstEvents(100_000),
                                           sampleCap: 10_000, validRange: -4...4))
    for x in data { m.feed(x) }
    let reps = 20
    let t = measureSeconds { for _ in 0..<reps { for x in data { m.feed(x) } } }
    let perValue = ns(t, reps * data.count)
    let allocs = countAllocations { for x in data { m.feed(x) } }
    var b = m
    let tb = measureSeconds { for _ in 0..<reps { data.withUnsafeBufferPointer { b.feed(contentsOf: $0) } } }
    print("(a) FieldMonitor.feed(Double): \(fmt(perValue)) ns/value  [target < 50 ns: \(verdict(perValue < 50))]; allocations per 1M feeds: \(allocText(allocs))")
    print("    feed(contentsOf:) bulk: \(fmt(ns(tb, reps * data.count))) ns/value")
    var c = try FieldMonitor(MonitorConfig(feature: "c", kind: .categorical, window: .count(1 << 40), reference: .firstEvents(1_000)))
    let ids = data.map { Int32(abs($0) * 5) }
    for id in ids { c.feed(category: id) }
    let tc = measureSeconds { for _ in 0..<reps { for id in ids { c.feed(category: id) } } }
    print("    FieldMonitor.feed(category:): \(fmt(ns(tc, reps * ids.count))) ns/value; allocations per 1M: \(allocText(countAllocations { for id in ids { c.feed(category: id) } }))")
}

// MARK: (b) window close
do {
    let ref = Array(data[0..<100_000])
    let windows = 100
    let stream = (0..<(windows * 10_000)).map { _ in g.nextGaussian() * 1.05 + 0.02 }
    var m = try FieldMonitor(MonitorConfig(feature: "x", window: .count(10_000),
                                           reference: .fixed(.numeric(try NumericReference(sample: ref)),
                                                             ReferenceInfo(kind: .profile, id: "ref", n: ref.count)),
                                           sampleCap: 10_000))
    // feed-only cost of the same values, to subtract
    var f = try FieldMonitor(MonitorConfig(feature: "x", window: .count(1 << 40), reference: .firstEvents(1), sampleCap: 10_000))
    f.feed(0.0)
    let tFeed = measureSeconds { for x in stream { f.feed(x) } }
    var records = 0
    let tAll = measureSeconds { for x in stream { m.feed(x) }; records = m.drainRecords().count }
    let perClose = (tAll - tFeed) / Double(windows) * 1e3
    print("(b) window close (10,000 vs 100,000; sort+PSI+KS+Wasserstein+JS+record): \(fmt(perClose, 3)) ms  [target < 2 ms: \(verdict(perClose < 2))] (\(records) records)")
    let recs = (try? { () throws -> [DriftRecord] in
        var x = m; for v in stream.prefix(20_000) { x.feed(v) }; return x.drainRecords() }()) ?? []
    if let r = recs.first {
        let tj = measureSeconds { for _ in 0..<10_000 { _ = r.json() } }
        print("    DriftRecord.json(): \(fmt(ns(tj, 10_000) / 1000, 2)) µs/record")
    }
}

// MARK: (c) contract mode vs the Python contract step
do {
    let n = 1_000_000
    var gg = SplitMix64(seed: 42)
    var rows = [Double]()
    rows.reserveCapacity(3 * n)
    for i in 0..<n {
        let u = gg.nextUnit(), v = gg.nextUnit(), w = gg.nextUnit()
        rows.append((10 + 90 * u) * (i >= n / 2 ? 1.5 : 1))
        rows.append(Double(Int(w * 1000)))
        rows.append(v)
    }
    var m = try ContractDriftMonitor(referenceCount: ContractDriftMonitor.referenceCount(totalEvents: n))
    var drift = 0, alerts = 0
    var emitted: [String] = []   // drift record then its alert, per feature, as the workload emits them
    emitted.reserveCapacity(1_000)
    let t = measureSeconds {
        rows.withUnsafeBufferPointer { p in
            for i in 0..<n where m.add(UnsafeBufferPointer(rebasing: p[(3 * i)..<(3 * i + 3)])) {
                let d = m.drainDriftRecords(), a = m.drainAlerts()
                drift += d.count
                alerts += a.count
                for r in d {
                    emitted.append(r.json())
                    if let x = a.first(where: { $0.feature == r.feature }) { emitted.append(x.json()) }
                }
            }
        }
    }
    print("(c) ContractDriftMonitor, 1M events x 3 features: \(fmt(t, 3)) s total, \(fmt(ns(t, n))) ns/event (incl. \(drift / 3) window evaluations, \(alerts) alerts)")
    // the Python peer reads the same values from a binary file
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("driftbench-rows.f64").path
    rows.withUnsafeBytes { try? Data($0).write(to: URL(fileURLWithPath: path)) }
    let here = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath().deletingLastPathComponent()
    let root = here.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let python = root.appendingPathComponent(".venv/bin/python").path
    let p = Process()
    p.executableURL = URL(fileURLWithPath: FileManager.default.isExecutableFile(atPath: python) ? python : "/usr/bin/python3")
    let peerOut = path + ".out.jsonl"
    p.arguments = [here.appendingPathComponent("peer_contract.py").path, path, "\(n)", peerOut]
    let pipe = Pipe()
    p.standardOutput = pipe
    do {
        try p.run()
        let out = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        print("    peer (workload.py DriftMonitor, numpy+scipy): \(out.trimmingCharacters(in: .whitespacesAndNewlines))")
        if let s = out.split(separator: " ").first.flatMap({ Double($0) }) {
            print("    Weir is \(fmt(s / t, 1))x faster on the drift step")
        }
        // agreement: same records; window/feature/n/psi/ks/drift identical text, p within 1e-9 relative
        let theirs = ((try? String(contentsOfFile: peerOut, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
        func split(_ line: String) -> (String, Double?) {
            guard let r = line.range(of: #""p":[^,}]*"#, options: .regularExpression) else { return (line, nil) }
            return (line.replacingCharacters(in: r, with: "\"p\":_"), Double(line[r].dropFirst(4)))
        }
        var same = 0
        for (a, b) in zip(emitted, theirs) {
            let (ta, pa) = split(a), (tb, pb) = split(b)
            if ta == tb, let pa, let pb, pa == pb || abs(pa - pb) <= 1e-9 * max(abs(pa), abs(pb)) { same += 1 }
        }
        let agree = same == emitted.count && emitted.count == theirs.count
        print("    output agreement with the peer: \(same)/\(theirs.count) records (\(emitted.count) from Weir)  [\(verdict(agree))]")
    } catch {
        print("    peer: not run (\(error))")
    }
}

// MARK: (d) gate
do {
    var gate = DriftGate()
    var recs: [DriftRecord] = []
    var m = try FieldMonitor(MonitorConfig(feature: "x", window: .count(100), reference: .firstEvents(1_000)))
    for i in 0..<(1_000 + 100 * 200) { m.feed(data[i] + (i > 10_000 ? 0.5 : 0)) }
    recs = m.drainRecords()
    let reps = 200
    var out = 0
    let t = measureSeconds {
        for _ in 0..<reps {
            var gg = gate
            for r in recs { out += gg.observe([r]).alerts.count }
        }
    }
    gate = DriftGate()
    print("(d) DriftGate.observe: \(fmt(ns(t, reps * recs.count) / 1000, 2)) µs/record (\(out / reps) alerts per pass)")
}
// MARK: (e) score monitor under a fixed model
do {
    let d = 13, windows = 40
    var m = try FieldMonitor(MonitorConfig(feature: "score", window: .count(5_000), reference: .firstEvents(20_000),
                                           sampleCap: 100_000, rescoring: RescoringConfig(dimension: d, warmupLabels: 0)))
    let w = (0..<d).map { _ in g.gaussian() * 0.3 }
    func score(_ x: UnsafeBufferPointer<Double>) -> Double {
        var z = -1.5
        for k in 0..<d { z += w[k] * x[k] }
        return 1 / (1 + exp(-z))
    }
    var x = [Double](repeating: 0, count: d)
    var tClose = 0.0, records = 0
    for _ in 0..<(20_000 + windows * 5_000) {
        for k in 0..<d { x[k] = g.gaussian() }
        x.withUnsafeBufferPointer { m.feed(score: 0.5, inputs: $0) }
        if m.awaitingScoreCount > 0 {
            tClose += measureSeconds { m.scoreAwaitingWindows(by: ScoringState(modelVersion: 1, labelsLearned: 1)) { score($0) } }
            records += m.drainRecords().count
        }
    }
    let perClose = tClose / Double(windows) * 1e3
    print("(e) score window close under a fixed model (re-score 20,000 + 5,000 inputs of 13, sort, compare, record): \(fmt(perClose, 3)) ms  [target < 2 ms: \(verdict(perClose < 2))] (\(records) records)")
}
if let rss = peakRSSBytes() { print("peak RSS: \(rss / 1_048_576) MiB") }
