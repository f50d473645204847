import Foundation
import Testing
import WeirStats
import WeirTestSupport
@testable import WeirDrift

/// `gate.calibrate`: thresholds from the reference's own null distribution, for a false-alarm rate
/// per window across all monitors.
@Suite struct GateCalibrationTests {
    static let categories: [Double] = [0.4, 0.25, 0.2, 0.1, 0.05]   // shares of 5 categories

    /// One stationary (or shifted from window `shiftAt`) stream through a numeric and a categorical
    /// monitor, reference the first 1,000 events, windows of 100, calibrated for `rate`.
    static func run(seed: UInt64, rate: Double, windows: Int, shiftAt: Int? = nil) throws -> [Int: [DriftRecord]] {
        let cal = CalibrationConfig(falseAlarmRate: rate, monitorCount: 2, seed: seed &* 31)
        let configs = [
            MonitorConfig(feature: "x", window: .count(100), reference: .firstEvents(1_000), calibration: cal),
            MonitorConfig(feature: "c", kind: .categorical, window: .count(100), reference: .firstEvents(1_000), calibration: cal),
        ]
        var p = try DriftPipeline(monitors: configs, gate: GateConfig(defaultPolicy: DriftPolicy()))
        var rng = SeededGenerator(seed: seed)
        var byWindow: [Int: [DriftRecord]] = [:]
        for i in 0..<(1_000 + windows * 100) {
            let shifted = shiftAt.map { i >= 1_000 + $0 * 100 } ?? false
            p.feed(field: 0, .number(rng.nextGaussian() + (shifted ? 1.0 : 0)))
            var u = Double.random(in: 0..<1, using: &rng)
            var id: Int32 = 0
            let shares = shifted ? Array(categories.reversed()) : categories
            while id < 4 && u >= shares[Int(id)] { u -= shares[Int(id)]; id += 1 }
            p.feed(field: 1, .category(id))
            for r in p.drain().drift { byWindow[r.window, default: []].append(r) }
        }
        return byWindow
    }

    /// On 100 stationary seeds, the share of windows in which any of the two monitors is called
    /// drifted is within the 95% binomial interval of the configured rate.
    /// Arithmetic: rate 0.05, 100 seeds × 40 windows = 4,000 judged windows (each judged by both
    /// monitors); expected 200 false-alarm windows, standard deviation sqrt(4000 · 0.05 · 0.95) =
    /// 13.8, so the 95% interval is 200 ± 27 windows: [173, 227] (rate 0.0432–0.0568). Each
    /// monitor gets 0.025 (Bonferroni); for two independent monitors the union is
    /// 1 − 0.975² = 0.0494, inside the interval. Fixed thresholds (psi 0.2, KS p < 0.01 with D >
    /// 0.1, chi-square p < 0.01 with JS > 0.1) on the same windows give another rate (printed);
    /// a calibration that ignored the reference's sampling noise, or split the rate over the rules
    /// as well, would land outside the interval (too many and too few alarms respectively).
    @Test func stationaryFalseAlarmRateMatchesTheConfiguredRate() throws {
        var judged = 0, alarms = 0, fixedAlarms = 0
        for seed in 1...100 {
            let byWindow = try Self.run(seed: UInt64(seed), rate: 0.05, windows: 40)
            #expect(byWindow.count == 40)
            for (_, recs) in byWindow {
                #expect(recs.count == 2)
                #expect(recs.allSatisfy { $0.calibration != nil })
                judged += 1
                if recs.contains(where: \.drifted) { alarms += 1 }
                if recs.contains(where: { DriftPolicy().evaluate($0.statistics, nCurrent: $0.nCurrent).isDrifted }) { fixedAlarms += 1 }
            }
        }
        let rate = Double(alarms) / Double(judged)
        print("gate.calibrate stationary: \(alarms) of \(judged) windows drifted (rate \(rate), target 0.05, 95% interval [0.0432, 0.0568]); fixed thresholds: \(fixedAlarms) of \(judged)")
        #expect(judged == 4_000)
        #expect((173...227).contains(alarms), "\(alarms) false-alarm windows of 4000")
    }

    /// The thresholds are in every record (`calibration`, also in the JSON), deterministic for a
    /// seed, the gate judges with them (a shifted stream opens alerts), and the JSON names them.
    @Test func thresholdsAreRecordedDeterministicAndUsedByTheGate() throws {
        let a = try Self.run(seed: 7, rate: 0.01, windows: 12, shiftAt: 6)
        let b = try Self.run(seed: 7, rate: 0.01, windows: 12, shiftAt: 6)
        let ca = try #require(a[0]?.first { $0.feature == "x" }?.calibration)
        #expect(ca == b[0]?.first { $0.feature == "x" }?.calibration)
        #expect(ca.perMonitorRate == 0.005 && ca.monitors == 2 && ca.windowSize == 100 && ca.resamples == 4_000)
        #expect(ca.ksStatistic != nil && ca.jsDistance == nil && ca.psi > 0)
        let cc = try #require(a[0]?.first { $0.feature == "c" }?.calibration)
        #expect(cc.ksStatistic == nil && cc.jsDistance != nil)
        // after the shift (1 σ, reversed category shares) every window of both monitors drifts
        for w in 6..<12 { #expect(a[w]?.allSatisfy(\.drifted) == true, "window \(w)") }
        let json = try #require(a[0]?.first { $0.feature == "x" }?.json())
        #expect(json.contains(#""calibration":{"false_alarm_rate":0.01,"monitors":2,"per_monitor_rate":0.005,"resamples":4000,"window_size":100,"psi":"#))
        // the verdict follows the calibrated thresholds exactly
        for recs in a.values {
            for r in recs {
                let s = try #require(r.calibration)
                let fires: Bool
                switch r.statistics {
                case .numeric(let n): fires = n.psi > s.psi || n.ksStatistic > s.ksStatistic!
                case .categorical(let c): fires = c.psi > s.psi || (c.chi2PValue < 1 && c.jsDistance > s.jsDistance!)
                case .undefined: fires = false
                }
                #expect(r.drifted == fires)
            }
        }
    }

    /// The joint thresholds: paired null values where the second is the first (fully dependent
    /// rules) fire in `rate · n` resamples, not half of it; independent ones in about as many.
    @Test func jointThresholdsFireInTheAllowedShareOfResamples() {
        var rng = SplitMix64(seed: 3)
        let a = (0..<10_000).map { _ in rng.nextUnit() }
        let (t1, t2) = GateCalibration.jointThresholds(a, a, rate: 0.01)
        #expect(a.filter { $0 > t1 || $0 > t2 }.count == 100)
        let b = (0..<10_000).map { _ in rng.nextUnit() }
        let (u1, u2) = GateCalibration.jointThresholds(a, b, rate: 0.01)
        let fired = zip(a, b).filter { $0.0 > u1 || $0.1 > u2 }.count
        #expect((90...100).contains(fired), "\(fired)")
    }
}
