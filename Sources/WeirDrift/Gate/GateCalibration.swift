import WeirJSON
import WeirStats

/// `gate.calibrate`: thresholds derived from the reference itself, for a target false-alarm rate
/// per window across all monitors.
///
/// Procedure (per monitor, once its reference exists): `resamples` times, draw a pseudo-reference of
/// the reference's size and a window of the configured size, both with replacement from the
/// reference (the null hypothesis: reference and window come from the same distribution, which
/// the reference's empirical distribution stands for; both samples carry sampling noise, as a fresh
/// reference and window would), and compute the statistics the policy uses: numeric PSI and KS D,
/// categorical PSI and JS distance, exactly as the monitor computes them (edges from the
/// pseudo-reference's quantiles). The monitor gets `rate / m` (Bonferroni over the `m` monitors);
/// its two thresholds sit at one common upper quantile of their null values, chosen so that the two
/// rules together (PSI or the other) fire in at most `rate / m` of the resamples
/// (``jointThresholds(_:_:rate:)``). So the chance that any monitor calls a stationary window
/// drifted is at most `rate` (Bonferroni's bound; about `rate` for independent monitors, less
/// when they move together). Draws use ``SplitMix64`` seeded per monitor: deterministic.
///
/// With `resamples · rate / m < 1` no resample may fire: the thresholds are the largest null values
/// and the rate is only bounded by about `1 / resamples` (``CalibratedThresholds/resolution``).
public struct CalibrationConfig: Sendable, Equatable {
    /// Target probability that a stationary window is called drifted by any monitor.
    public var falseAlarmRate: Double
    /// Monitors the rate is split over (Bonferroni).
    public var monitorCount: Int
    /// Null resamples per monitor; nil: `min(max(1000, ⌈20 / q⌉), maxResamples)`.
    public var resamples: Int?
    public var maxResamples: Int
    public var seed: UInt64

    public init(falseAlarmRate: Double, monitorCount: Int, resamples: Int? = nil, maxResamples: Int = 20_000,
                seed: UInt64 = 0xCA11_B4A7) {
        self.falseAlarmRate = falseAlarmRate; self.monitorCount = Swift.max(1, monitorCount)
        self.resamples = resamples; self.maxResamples = maxResamples; self.seed = seed
    }

    /// The rate each monitor gets (Bonferroni: `falseAlarmRate / monitors`).
    public var perMonitorRate: Double { falseAlarmRate / Double(monitorCount) }
    /// Null resamples: `resamples`, else `min(max(1000, ⌈20 / perMonitorRate⌉), maxResamples)`
    /// (about 20 null resamples beyond each threshold).
    public var resampleCount: Int {
        resamples ?? Swift.min(Swift.max(1_000, Int((20 / perMonitorRate).rounded(.up))), maxResamples)
    }
}

/// Thresholds chosen by ``GateCalibration`` for one monitor (written in drift records as `calibration`).
public struct CalibratedThresholds: Sendable, Equatable {
    /// `falseAlarmRate` of the configuration (all monitors).
    public var falseAlarmRate: Double
    /// Monitors it was split over and the rate this monitor gets (both rules together).
    public var monitors: Int
    public var perMonitorRate: Double
    public var resamples: Int
    /// Window size the null was drawn for.
    public var windowSize: Int
    /// PSI threshold (both kinds).
    public var psi: Double
    /// Numeric: KS statistic threshold (`ks_statistic > t` fires; the p-value is not used).
    public var ksStatistic: Double?
    /// Categorical: JS distance threshold (`js_distance > t` fires; the chi-square p-value is not used).
    public var jsDistance: Double?

    /// Smallest per-monitor rate the resamples resolve: `1 / resamples`.
    public var resolution: Double { 1 / Double(resamples) }

    /// `policy` with these thresholds: PSI; KS statistic (p-value threshold 1, i.e. the statistic
    /// alone) or JS distance (chi-square p-value threshold 1); the Wasserstein rule off. Resolve
    /// levels are lowered to at most the thresholds; everything else (windows to open, etc.) kept.
    public func applied(to policy: DriftPolicy) -> DriftPolicy {
        var p = policy
        p.psiThreshold = psi
        p.psiResolveBelow = Swift.min(policy.psiResolveBelow, psi)
        p.wassersteinNormalizedThreshold = nil
        if let d = ksStatistic {
            p.ksPValueThreshold = 1
            p.ksStatisticFloor = d
            p.ksStatisticResolveBelow = Swift.min(policy.ksStatisticResolveBelow, d)
        }
        if let j = jsDistance {
            p.chi2PValueThreshold = 1
            p.jsDistanceFloor = j
            p.jsDistanceResolveBelow = Swift.min(policy.jsDistanceResolveBelow, j)
        }
        return p
    }

    public func write(into w: inout JSONWriter, key: String = "calibration") {
        w.beginObject(key)
        w.field("false_alarm_rate", falseAlarmRate)
        w.field("monitors", monitors)
        w.field("per_monitor_rate", perMonitorRate)
        w.field("resamples", resamples)
        w.field("window_size", windowSize)
        w.field("psi", psi)
        w.field("ks_statistic", ksStatistic)
        w.field("js_distance", jsDistance)
        w.endObject()
    }

    /// One line for logs: `amount: psi > 0.0123, ks_statistic > 0.034 (rate 0.001 over 4 monitors, 8000 resamples of 5000)`.
    public func summary(feature: String) -> String {
        func f(_ x: Double) -> String { String(Double((x * 1e6).rounded()) / 1e6) }
        var s = "\(feature): psi > \(f(psi))"
        if let d = ksStatistic { s += ", ks_statistic > \(f(d))" }
        if let j = jsDistance { s += ", js_distance > \(f(j))" }
        return s + " (false-alarm rate \(falseAlarmRate) per window over \(monitors) monitors, \(perMonitorRate) per monitor; \(resamples) null resamples of \(windowSize) values)"
    }
}

public enum GateCalibration {
    /// Thresholds `(t1, t2)` at one common upper quantile of `a` and of `b` (paired null values of
    /// one resample each), the lowest such pair with `#{i: a[i] > t1 or b[i] > t2} <= rate · n`:
    /// the two rules together fire in at most `rate` of the null resamples. (Rules split by
    /// Bonferroni would fire less often than `rate`, as PSI and KS largely move together.)
    /// - Complexity: O(n log n).
    static func jointThresholds(_ a: [Double], _ b: [Double], rate: Double) -> (Double, Double) {
        let n = a.count
        let sa = a.sorted(), sb = b.sorted()
        func fires(_ j: Int) -> Int {        // thresholds: the (j+1)-th largest of each
            let t1 = sa[n - 1 - j], t2 = sb[n - 1 - j]
            var c = 0
            for i in 0..<n where a[i] > t1 || b[i] > t2 { c += 1 }
            return c
        }
        let allowed = Int((rate * Double(n)).rounded(.down))
        var lo = 0, hi = n - 1               // largest j with fires(j) <= allowed (fires(0) == 0)
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if fires(mid) <= allowed { lo = mid } else { hi = mid - 1 }
        }
        return (sa[n - 1 - lo], sb[n - 1 - lo])
    }

    /// Thresholds for a monitor with reference `reference`, windows of `windowSize` values, PSI `bins`.
    /// nil for an empty reference or a window size below 1.
    public static func thresholds(reference: FieldReference, windowSize: Int, bins: Int,
                                  config: CalibrationConfig, stream: UInt64) -> CalibratedThresholds? {
        guard windowSize >= 1 else { return nil }
        let b = config.resampleCount
        var rng = SplitMix64(seed: config.seed ^ (stream &* 0x9E37_79B9_7F4A_7C15))
        var psis: [Double] = []
        var second: [Double] = []
        psis.reserveCapacity(b); second.reserveCapacity(b)
        switch reference {
        case .numeric(let r):
            let values = r.sorted                   // sample or sketch grid: the empirical distribution
            let n = values.count, size = r.sorted.count
            var counts = [Int](repeating: 0, count: n)
            var pseudo = [Double](), window = [Double]()
            pseudo.reserveCapacity(size); window.reserveCapacity(windowSize)
            var refBins = [Int](repeating: 0, count: bins + 1), curBins = refBins
            func draw(_ k: Int, into out: inout [Double]) {
                for i in 0..<n { counts[i] = 0 }
                for _ in 0..<k { counts[Int(rng.next(below: UInt64(n)))] += 1 }
                out.removeAll(keepingCapacity: true)
                for i in 0..<n where counts[i] > 0 { for _ in 0..<counts[i] { out.append(values[i]) } }   // sorted by construction
            }
            for _ in 0..<b {
                draw(size, into: &pseudo)
                draw(windowSize, into: &window)
                let edges = NumericReference.quantileEdges(sorted: pseudo, bins: bins)
                if refBins.count != edges.count + 1 {
                    refBins = [Int](repeating: 0, count: edges.count + 1); curBins = refBins
                }
                pseudo.withUnsafeBufferPointer { NumericReference.countPerBin(sorted: $0, edges: edges, into: &refBins) }
                window.withUnsafeBufferPointer { NumericReference.countPerBin(sorted: $0, edges: edges, into: &curBins) }
                psis.append((try? PopulationStability.psi(referenceCounts: refBins, currentCounts: curBins)) ?? 0)
                second.append(pseudo.withUnsafeBufferPointer { p in
                    window.withUnsafeBufferPointer { KolmogorovSmirnov.statistic(sortedA: p, sortedB: $0) }
                })
            }
        case .categorical(let c):
            let cats = c.categories.sorted()
            let weights = cats.map { c.count(of: $0) }
            var cumulative: [Int] = []
            var acc = 0
            for w in weights { acc += w; cumulative.append(acc) }
            let total = acc
            guard total > 0 else { return nil }
            var ref = [Int](repeating: 0, count: cats.count), cur = ref
            func draw(_ k: Int, into out: inout [Int]) {
                for i in out.indices { out[i] = 0 }
                for _ in 0..<k {
                    let u = Int(rng.next(below: UInt64(total)))
                    var lo = 0, hi = cumulative.count - 1          // first cumulative > u
                    while lo < hi { let mid = (lo + hi) / 2; if cumulative[mid] > u { hi = mid } else { lo = mid + 1 } }
                    out[lo] += 1
                }
            }
            for _ in 0..<b {
                draw(total, into: &ref)
                draw(windowSize, into: &cur)
                psis.append((try? PopulationStability.psi(referenceCounts: ref, currentCounts: cur)) ?? 0)
                second.append((try? JensenShannon.distance(ref, cur)) ?? 0)
            }
        case .empty:
            return nil
        }
        let (t1, t2) = jointThresholds(psis, second, rate: config.perMonitorRate)
        let numeric = reference.kind == .numeric
        return CalibratedThresholds(falseAlarmRate: config.falseAlarmRate, monitors: config.monitorCount,
                                    perMonitorRate: config.perMonitorRate, resamples: b, windowSize: windowSize, psi: t1,
                                    ksStatistic: numeric ? t2 : nil, jsDistance: numeric ? nil : t2)
    }
}
