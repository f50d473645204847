// StatsBench: WeirStats hot paths against the issue-5 targets, with scipy/numpy in the same run.
//   (a) feeding a monitored value into a current window (quality counters + reservoir add + running moments) < 50 ns
//   (b) closing a 10,000-value window against a 100,000-value reference (PSI+KS+Wasserstein+JS) < 2 ms
//   (c) scipy/numpy doing (b) on the same data (scripts/bench/stats_close_peer.py), and the ratio
// Plus per-update costs of the sketches and detectors, and allocation counts (run with the
// malloc interposer preloaded for real counts).
import BenchSupport
import Foundation
import WeirStats

#if canImport(Glibc)
import Glibc
#endif


print("StatsBench — WeirStats (release), \(Date())")
print("allocation counting: \(allocationCountingAvailable ? "on" : "off")")
var g = SplitMix64(seed: 42)

// MARK: (a) feed cost
let feedData = (0..<1_048_576).map { _ in g.nextGaussian() }
/// What a monitored numeric field does per event: quality counters, window sample, moments.
struct WindowFeed {
    var reservoir: ReservoirSample
    var moments = RunningMoments()
    var quality = QualityCounters()
    @inline(__always) mutating func feed(_ x: Double) {
        if quality.record(x, range: -4...4) {
            reservoir.add(x)
            moments.add(x)
        }
    }
}
var window = WindowFeed(reservoir: try ReservoirSample(capacity: 10_000, seed: 1))
var sink = 0.0
for x in feedData { window.feed(x) }  // warm up: reservoir full, steady state
let feedN = 20 * feedData.count
let feedSeconds = measureSeconds {
    for _ in 0..<20 {
        for x in feedData { window.feed(x) }
    }
}
sink += window.moments.mean + Double(window.quality.outOfRange)
let feedAllocs = countAllocations { for x in feedData { window.feed(x) } }
let feedNs = ns(feedSeconds, feedN)
print("\n(a) feed one value (QualityCounters.record + ReservoirSample.add + RunningMoments.add), cap 10,000, \(feedN) values")
print("    \(fmt(feedNs)) ns/value (\(formatRate(1e9 / feedNs)))  allocations per 1M values: \(allocText(feedAllocs))")
print("    target < 50 ns: \(verdict(feedNs < 50))")

// MARK: (b) close a window
let refValues = (0..<100_000).map { _ in g.nextGaussian() }
let reference = try NumericReference(sample: refValues)
let windows: [(String, [Double])] = [
    ("no drift  N(0,1)", (0..<10_000).map { _ in g.nextGaussian() }),
    ("drift N(0.1,1.1)", (0..<10_000).map { _ in 0.1 + 1.1 * g.nextGaussian() }),
]
var scratch = [Double]()
scratch.reserveCapacity(10_000)
var sorter = DoubleSorter()
var closeResults: [NumericComparison] = []
var closeMedians: [Double] = []
print("\n(b) close a 10,000-value window vs a 100,000-value reference (radix-sort window + PSI + KS + Wasserstein + JS)")
for (label, values) in windows {
    var window = try ReservoirSample(capacity: 10_000, seed: 2)
    for v in values { window.add(v) }
    var result: NumericComparison?
    var times = [Double]()
    for _ in 0..<300 {
        let t = try measureSeconds {
            window.sortedValues(into: &scratch, using: &sorter)
            result = try reference.compare(sortedCurrent: scratch)
        }
        times.append(t)
    }
    times.sort()
    let allocs = try countAllocations {
        window.sortedValues(into: &scratch, using: &sorter)
        result = try reference.compare(sortedCurrent: scratch)
    }
    let r = result!
    closeResults.append(r)
    let med = times[times.count / 2]
    closeMedians.append(med)
    print("    \(label): median \(fmt(med * 1e3, 3)) ms, p99 \(fmt(times[times.count * 99 / 100] * 1e3, 3)) ms, min \(fmt(times[0] * 1e3, 3)) ms; allocations per close: \(allocText(allocs))")
    print("      psi \(r.psi)  ks D \(r.ks.statistic) p \(r.ks.pvalue) (\(r.ks.method))  W \(r.wasserstein)  W/std \(r.wassersteinNormalized)  JS \(r.jsDistance)")
    print("      target < 2 ms: \(verdict(med < 2e-3))")
}

// MARK: (c) scipy/numpy peer on the same data
func writeF64(_ values: [Double], _ path: String) throws {
    let data = values.withUnsafeBufferPointer { Data(buffer: $0) }
    try data.write(to: URL(fileURLWithPath: path))
}
let root: URL = {
    if let r = ProcessInfo.processInfo.environment["WEIR_ROOT"] { return URL(fileURLWithPath: r) }
    // benchmarks/Sources/StatsBench/main.swift → repository root (symlinks resolved)
    return URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
}()
let python = ProcessInfo.processInfo.environment["WEIR_PYTHON"] ?? root.appendingPathComponent(".venv/bin/python").path
let peerScript = root.appendingPathComponent("scripts/bench/stats_close_peer.py").path
print("\n(c) scipy/numpy peer: \(python) \(peerScript)")
let tmp = FileManager.default.temporaryDirectory
for (i, (label, values)) in windows.enumerated() {
    let refPath = tmp.appendingPathComponent("weir_statsbench_ref.f64").path
    let curPath = tmp.appendingPathComponent("weir_statsbench_cur\(i).f64").path
    do {
        try writeF64(refValues, refPath)
        try writeF64(values, curPath)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: python)
        p.arguments = [peerScript, refPath, curPath, "30"]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0,
              let obj = try JSONSerialization.jsonObject(with: data) as? [String: Any],
              let med = obj["median_seconds"] as? Double else {
            print("    \(label): peer failed (status \(p.terminationStatus))")
            continue
        }
        let r = closeResults[i]
        print("    \(label): scipy median \(fmt(med * 1e3, 3)) ms vs Weir \(fmt(closeMedians[i] * 1e3, 3)) ms → Weir is \(fmt(med / closeMedians[i], 1))× faster")
        func cmp(_ k: String, _ v: Double) -> String {
            guard let s = obj[k] as? Double else { return "\(k) ?" }
            let rel = s == v ? 0 : abs(s - v) / max(abs(s), abs(v))
            return "\(k) rel.diff \(String(format: "%.1e", rel))"
        }
        print("      agreement: \(cmp("psi", r.psi)), \(cmp("ks_statistic", r.ks.statistic)), \(cmp("ks_pvalue", r.ks.pvalue)), \(cmp("wasserstein", r.wasserstein)), \(cmp("js", r.jsDistance))")
    } catch {
        print("    \(label): peer not run: \(error)")
    }
}

// MARK: other per-update costs
print("\nper-update costs (1,048,576 values each; allocations per 1M after warm-up)")
func perUpdate(_ name: String, _ body: (Double) -> Void) {
    for x in feedData.prefix(100_000) { body(x) }
    let t = measureSeconds { for x in feedData { body(x) } }
    let a = countAllocations { for x in feedData { body(x) } }
    print("    \(name.padding(toLength: 34, withPad: " ", startingAt: 0)) \(fmt(ns(t, feedData.count))) ns  allocs \(allocText(a))")
}
var hll = try HyperLogLog()
perUpdate("HyperLogLog.insert (p=14)") { hll.insert($0) }
var kll = try KLLSketch()
perUpdate("KLLSketch.insert (k=200)") { kll.insert($0) }
var ss = try SpaceSaving(capacity: 64)
perUpdate("SpaceSaving.insert (64 counters)") { ss.insert(Int32(truncatingIfNeeded: Int(abs($0) * 40))) }
var counts = CategoryCounts()
perUpdate("CategoryCounts.add") { counts.add(Int32(truncatingIfNeeded: Int(abs($0) * 40))) }
var adwin = try ADWIN()
perUpdate("ADWIN.update") { adwin.update($0) }
var ph = try PageHinkley()
perUpdate("PageHinkley.update") { ph.update($0) }
sink += hll.estimate + (kll.quantile(0.5) ?? 0) + Double(ss.total + counts.total + adwin.width) + ph.runningMean
print("\npeak RSS: \(peakRSSBytes().map { "\($0 / 1_048_576) MiB" } ?? "n/a")   (sink \(sink.isFinite))")
