#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch
import WeirJSON
import WeirStats

/// The workload contract's drift step (shared/bench/README.md, `workload.py` `DriftMonitor`), reproduced
/// exactly: the first `referenceCount` events (`int(N · 0.2)`) form the reference of every feature;
/// then every `windowSize` (10,000) events form window w = 0, 1, …; a final partial window is not
/// evaluated. Per window and feature, in feature order:
/// - PSI: 9 inner edges `numpy.quantile(ref, linspace(0, 1, 11)[1:-1])` (q = i·0.1, linear), bins by
///   `searchsorted(edges, x, side="right")` (duplicate edges kept), shares `max(count/n, 1e-4)`,
///   `Σ (c − r)·ln(c/r)` summed in numpy's pairwise order;
/// - KS: `scipy.stats.ks_2samp(ref, cur)` (default `auto` method);
/// - drift = `psi > 0.2 or p < 0.01`; an alert when the feature's run of drifted windows reaches exactly 2.
/// Non-finite values (absent from the contract's data) are left out of the samples, so `n` counts
/// finite values; the contract itself would propagate NaN.
/// - Complexity: ``add(_:)`` is an append per feature (allocation-free: storage reserved up front);
///   a window close sorts each window (radix) and walks the reference once per feature.
public struct ContractDriftMonitor: Sendable {
    public static let psiBins = 10
    public static let psiEpsilon = 1e-4
    public static let psiThreshold = 0.2
    public static let ksPValueThreshold = 0.01
    public static let consecutive = 2

    /// `int(totalEvents * 0.2)`, the contract's reference size.
    public static func referenceCount(totalEvents: Int) -> Int { Int(Double(totalEvents) * 0.2) }

    public let features: [String]
    public let referenceCount: Int
    public let windowSize: Int
    var columns: [[Double]]
    var filled = 0
    /// Whether the reference is complete (it never changes after).
    public internal(set) var referenceReady = false
    var refSorted: [[Double]] = []
    var refEdges: [[Double]] = []
    var refShares: [[Double]] = []
    var streak: [Int]
    var window = 0
    var sorter = DoubleSorter()
    var driftOut: [ContractDriftRecord] = []
    var alertOut: [ContractAlertRecord] = []
    /// Judge closed windows on another thread (``completePending(wait:)`` collects the records); off
    /// by default. The records are the same either way; only when they become ready differs.
    public var evaluatesInBackground = false
    /// A closed window's statistics, with its sample buffers and sorter handed back for reuse.
    typealias JudgedWindow = (stats: [WindowStatistics], columns: [[Double]], sorter: DoubleSorter)
    /// The closed window being judged on another thread (sorting its samples, every feature's statistics).
    var inFlight: BackgroundJob<JudgedWindow>?
    var spareColumns: [[Double]]?

    /// - Throws: ``MonitorError/invalidConfig(feature:detail:)`` for no features or non-positive sizes.
    public init(features: [String] = ["amount", "device_age_days", "score"], referenceCount: Int,
                windowSize: Int = 10_000) throws(MonitorError) {
        guard !features.isEmpty else { throw .invalidConfig(feature: "", detail: "no features") }
        guard referenceCount >= 1, windowSize >= 1 else {
            throw .invalidConfig(feature: features[0], detail: "referenceCount \(referenceCount), windowSize \(windowSize)")
        }
        self.features = features
        self.referenceCount = referenceCount
        self.windowSize = windowSize
        columns = features.map { _ in
            var c = [Double]()
            c.reserveCapacity(Swift.max(referenceCount, windowSize))
            return c
        }
        streak = [Int](repeating: 0, count: features.count)
    }

    /// Windows evaluated so far.
    public var windowsEvaluated: Int { window }

    /// Adds one event's values, in feature order (`values.count == features.count`; extra values are
    /// ignored, missing ones count as non-finite). Returns true when this event completed the
    /// reference or a window (records are then ready in ``drainDriftRecords()`` / ``drainAlerts()``).
    public mutating func add(_ values: UnsafeBufferPointer<Double>) -> Bool {
        for f in 0..<features.count {
            let x = f < values.count ? values[f] : .nan
            if x.isFinite { columns[f].append(x) }
        }
        filled += 1
        if !referenceReady {
            if filled == referenceCount { setReference(); return true }
        } else if filled == windowSize {
            evaluate()
            return true
        }
        return false
    }

    /// Adds one event of a three-feature monitor (amount, device_age_days, score).
    public mutating func add(_ a: Double, _ b: Double, _ c: Double) -> Bool {
        withUnsafeTemporaryAllocation(of: Double.self, capacity: 3) { p in
            p[0] = a; p[1] = b; p[2] = c
            return add(UnsafeBufferPointer(p))
        }
    }

    public mutating func drainDriftRecords() -> [ContractDriftRecord] {
        defer { driftOut.removeAll(keepingCapacity: true) }
        return driftOut
    }

    public mutating func drainAlerts() -> [ContractAlertRecord] {
        defer { alertOut.removeAll(keepingCapacity: true) }
        return alertOut
    }

    mutating func setReference() {
        for f in 0..<features.count {
            var r = columns[f]
            sorter.sort(&r)
            var edges = [Double]()
            if !r.isEmpty {
                for i in 1..<Self.psiBins { edges.append(NumericReference.numpyQuantile(sorted: r, Double(i) * 0.1)) }
            }
            var counts = [Int](repeating: 0, count: Self.psiBins)
            for x in r { counts[Self.searchsortedRight(edges, x)] += 1 }
            let n = Double(Swift.max(1, r.count))
            refShares.append(counts.map { Swift.max(Double($0) / n, Self.psiEpsilon) })
            refEdges.append(edges)
            refSorted.append(r)
            columns[f].removeAll(keepingCapacity: true)
            columns[f].reserveCapacity(windowSize)
        }
        referenceReady = true
        filled = 0
    }

    mutating func evaluate() {
        if evaluatesInBackground {
            // One window in flight at most: the previous one (if any) is judged first.
            _ = completePending()
            // The window's samples, its sorter and the references go to the job by value.
            let (window, windowSorter, refSorted, refEdges, refShares) = (columns, sorter, refSorted, refEdges, refShares)
            let job = BackgroundJob { () -> JudgedWindow in
                var columns = window, sorter = windowSorter
                let stats = Self.judge(&columns, sorter: &sorter, refSorted: refSorted, refEdges: refEdges, refShares: refShares)
                return (stats, columns, sorter)
            }
            // The job owns the window's samples now; the next window fills the buffers it returned last time.
            columns = spareColumns ?? features.map { _ in
                var c = [Double]()
                c.reserveCapacity(windowSize)
                return c
            }
            spareColumns = nil
            sorter = DoubleSorter()
            inFlight = job
            filled = 0
            return
        }
        record(Self.judge(&columns, sorter: &sorter, refSorted: refSorted, refEdges: refEdges, refShares: refShares))
        for f in 0..<features.count { columns[f].removeAll(keepingCapacity: true) }
        filled = 0
    }

    /// Background evaluation: collects the window in flight (if any) and makes its records ready;
    /// with `wait: false` only if it is already judged. Returns true when it collected one. Call it
    /// (waiting) before taking a snapshot.
    public mutating func completePending(wait: Bool = true) -> Bool {
        guard let job = inFlight, wait || job.isDone else { return false }
        inFlight = nil
        let (stats, columns, sorter) = job.wait()
        record(stats)
        spareColumns = columns.map { var c = $0; c.removeAll(keepingCapacity: true); return c }
        self.sorter = sorter
        return true
    }

    /// Windows closed so far (judged, or being judged in the background).
    public var windowsClosed: Int { window + (inFlight == nil ? 0 : 1) }

    /// True while a closed window is being judged in the background (``completePending(wait:)``).
    public var hasPendingEvaluation: Bool { inFlight != nil }

    /// The records of window `window` from its per-feature statistics; advances the streaks and the window index.
    mutating func record(_ stats: [WindowStatistics]) {
        let w = window
        for f in 0..<features.count {
            let s = stats[f]
            let rec = ContractDriftRecord(window: w, feature: features[f], n: s.n, psi: s.psi, ks: s.ks, p: s.p, drift: s.drift)
            driftOut.append(rec)
            streak[f] = rec.drift ? streak[f] + 1 : 0
            if streak[f] == Self.consecutive {
                alertOut.append(ContractAlertRecord(window: w, feature: rec.feature, psi: rec.psi, ks: rec.ks, p: rec.p,
                                                    consecutive: Self.consecutive))
            }
        }
        window += 1
    }

    /// One feature's statistics for one window (a pure function of the sorted samples and the reference).
    struct WindowStatistics: Sendable {
        var n: Int, psi: Double, ks: Double, p: Double, drift: Bool
    }

    /// Sorts each feature's window samples in place and computes its statistics (inline, or in a
    /// ``BackgroundJob``).
    static func judge(_ columns: inout [[Double]], sorter: inout DoubleSorter, refSorted: [[Double]], refEdges: [[Double]],
                      refShares: [[Double]]) -> [WindowStatistics] {
        for f in columns.indices { sorter.sort(&columns[f]) }
        return columns.indices.map { f in
            statistics(sortedWindow: columns[f], refSorted: refSorted[f], refEdges: refEdges[f], refShares: refShares[f])
        }
    }

    static func statistics(sortedWindow cur: [Double], refSorted: [Double], refEdges: [Double], refShares: [Double]) -> WindowStatistics {
        if cur.isEmpty || refSorted.isEmpty {
            // undefined in the contract (NaN there); reported as no drift with zero statistics
            return WindowStatistics(n: cur.count, psi: 0, ks: 0, p: 1, drift: false)
        }
        var counts = [Int](repeating: 0, count: psiBins)
        for x in cur { counts[searchsortedRight(refEdges, x)] += 1 }
        var terms = [Double](repeating: 0, count: psiBins)
        let n = Double(cur.count)
        for b in 0..<psiBins {
            let c = Swift.max(Double(counts[b]) / n, psiEpsilon)
            let r = refShares[b]
            terms[b] = (c - r) * log(c / r)
        }
        let psi = terms.withUnsafeBufferPointer { pairwiseSum($0) }
        let ks = (try? KolmogorovSmirnov.test(sortedA: refSorted, sortedB: cur))
            ?? KolmogorovSmirnov.test(statistic: 0, n1: 1, n2: 1)
        return WindowStatistics(n: cur.count, psi: psi, ks: ks.statistic, p: ks.pvalue,
                                drift: psi > psiThreshold || ks.pvalue < ksPValueThreshold)
    }

    /// `numpy.searchsorted(edges, x, side="right")`: the number of edges `<= x`.
    @inline(__always)
    static func searchsortedRight(_ edges: [Double], _ x: Double) -> Int {
        var lo = 0, hi = edges.count
        while lo < hi {
            let mid = (lo + hi) >> 1
            if edges[mid] <= x { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    /// numpy's pairwise summation of a contiguous float64 array (`np.sum`), bit-for-bit.
    static func pairwiseSum(_ a: UnsafeBufferPointer<Double>) -> Double {
        let n = a.count
        if n < 8 {
            var s = 0.0
            for x in a { s += x }
            return s
        }
        if n <= 128 {
            var r = [a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7]]
            var i = 8
            while i < n - (n % 8) {
                for k in 0..<8 { r[k] += a[i + k] }
                i += 8
            }
            var res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
            while i < n { res += a[i]; i += 1 }
            return res
        }
        var n2 = n / 2
        n2 -= n2 % 8
        return pairwiseSum(UnsafeBufferPointer(rebasing: a[0..<n2])) + pairwiseSum(UnsafeBufferPointer(rebasing: a[n2..<n]))
    }
}

/// `{"window","feature","n","psi","ks","p","drift"}`, the contract's drift record.
public struct ContractDriftRecord: Sendable, Equatable {
    public var window: Int
    public var feature: String
    public var n: Int
    public var psi: Double
    public var ks: Double
    public var p: Double
    public var drift: Bool

    /// Compact JSON in the contract's key order (`json.dumps(rec, separators=(",", ":"))`).
    public func json() -> String {
        var w = JSONWriter()
        w.beginObject()
        w.field("window", window); w.field("feature", feature); w.field("n", n)
        w.field("psi", psi); w.field("ks", ks); w.field("p", p); w.field("drift", drift)
        w.endObject()
        return w.string
    }
}

/// `{"window","feature","psi","ks","p","consecutive":2}`, the contract's alert record.
public struct ContractAlertRecord: Sendable, Equatable {
    public var window: Int
    public var feature: String
    public var psi: Double
    public var ks: Double
    public var p: Double
    public var consecutive: Int

    public func json() -> String {
        var w = JSONWriter()
        w.beginObject()
        w.field("window", window); w.field("feature", feature)
        w.field("psi", psi); w.field("ks", ks); w.field("p", p); w.field("consecutive", consecutive)
        w.endObject()
        return w.string
    }
}
