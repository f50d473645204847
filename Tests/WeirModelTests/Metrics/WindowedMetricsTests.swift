import Testing
import WeirModel
import WeirTestSupport

/// Windowed metrics against brute-force recomputation over the same window.
@Suite struct WindowedMetricsTests {
    func bruteForce(_ ps: ArraySlice<Double>, _ ys: ArraySlice<Double>) -> BinaryMetricValues {
        var v = BinaryMetricValues()
        let p = Array(ps), y = Array(ys)
        v.count = p.count
        var loss = 0.0, correct = 0, tp = 0, fp = 0, fn = 0
        for i in 0..<p.count {
            let q = min(max(p[i], 1e-15), 1 - 1e-15)
            loss += y[i] == 1 ? -log(q) : -log(1 - q)
            let pred = p[i] > 0.5 ? 1.0 : 0.0
            if pred == y[i] { correct += 1 }
            if pred == 1 && y[i] == 1 { tp += 1 }
            if pred == 1 && y[i] == 0 { fp += 1 }
            if pred == 0 && y[i] == 1 { fn += 1 }
        }
        v.logLoss = loss / Double(p.count)
        v.accuracy = Double(correct) / Double(p.count)
        v.precision = tp + fp == 0 ? 0 : Double(tp) / Double(tp + fp)
        v.recall = tp + fn == 0 ? 0 : Double(tp) / Double(tp + fn)
        // AUC by definition: P(score_pos > score_neg) + ½ P(equal), over all pairs.
        var num = 0.0, pairs = 0.0
        for i in 0..<p.count where y[i] == 1 {
            for k in 0..<p.count where y[k] == 0 {
                pairs += 1
                num += p[i] > p[k] ? 1 : (p[i] == p[k] ? 0.5 : 0)
            }
        }
        v.rocAUC = pairs == 0 ? 0.5 : num / pairs
        return v
    }

    func expectClose(_ a: BinaryMetricValues, _ b: BinaryMetricValues) {
        #expect(a.count == b.count)
        #expect(abs(a.logLoss - b.logLoss) < 1e-12)
        #expect(a.accuracy == b.accuracy)
        #expect(a.precision == b.precision)
        #expect(a.recall == b.recall)
        #expect(abs(a.rocAUC - b.rocAUC) < 1e-12)
    }

    func randomStream(_ n: Int, seed: UInt64) -> ([Double], [Double]) {
        var rng = SeededGenerator(seed: seed)
        var ps = [Double](), ys = [Double]()
        for _ in 0..<n {
            let y: Double = Bool.random(using: &rng) ? 1 : 0
            // Coarse scores so ties occur; some exact 0/1 to exercise the clamp.
            var p = (Double(Int.random(in: 0...20, using: &rng)) / 20 + (y == 1 ? 0.15 : -0.15))
            p = min(1, max(0, p))
            ps.append(p); ys.append(y)
        }
        return (ps, ys)
    }

    @Test func slidingWindowMatchesBruteForce() {
        let (ps, ys) = randomStream(3_000, seed: 1)
        var m = WindowedBinaryMetrics(mode: .sliding(250))
        for i in 0..<ps.count {
            m.update(p: ps[i], y: ys[i])
            if i % 97 == 0 || i == ps.count - 1 {
                let lo = max(0, i - 249)
                expectClose(m.values, bruteForce(ps[lo...i], ys[lo...i]))
            }
        }
    }

    @Test func tumblingWindowReportsCompletedBlocks() {
        let (ps, ys) = randomStream(1_050, seed: 2)
        var m = WindowedBinaryMetrics(mode: .tumbling(200))
        for i in 0..<ps.count {
            m.update(p: ps[i], y: ys[i])
            if i == 399 { #expect(m.lastCompleted.map { $0.count } == 200) }
        }
        // 1,050 events: blocks [0,200) ... [800,1000) complete; the last completed one is [800,1000)
        // (it is reported once the next block starts), the current one holds [1000,1050).
        expectClose(try! #require(m.lastCompleted), bruteForce(ps[800..<1000], ys[800..<1000]))
        expectClose(m.values, bruteForce(ps[1000..<1050], ys[1000..<1050]))
    }

    @Test func regressionWindowMatchesBruteForce() {
        var rng = SeededGenerator(seed: 3)
        var m = WindowedRegressionMetrics(mode: .sliding(100))
        var errs = [Double]()
        for _ in 0..<1_000 {
            let p = rng.nextGaussian(), y = rng.nextGaussian()
            m.update(p: p, y: y)
            errs.append(p - y)
        }
        let last = errs.suffix(100)
        #expect(abs(m.mae - last.map { abs($0) }.reduce(0, +) / 100) < 1e-12)
        #expect(abs(m.rmse - (last.map { $0 * $0 }.reduce(0, +) / 100).squareRoot()) < 1e-12)
    }

    @Test func aucKnownValues() {
        var perfect: [(Double, UInt8)] = [(0.1, 0), (0.2, 0), (0.8, 1), (0.9, 1)]
        let a1 = exactAUC(&perfect)
        #expect(a1 == 1)
        var ties: [(Double, UInt8)] = [(0.5, 0), (0.5, 1)]
        let a2 = exactAUC(&ties)
        #expect(a2 == 0.5)
        // Positives 0.1, 0.35, 0.8 vs the negative 0.4: only 0.8 ranks above it, 1 of 3 pairs.
        var mixed: [(Double, UInt8)] = [(0.1, 1), (0.4, 0), (0.35, 1), (0.8, 1)]
        let a3 = exactAUC(&mixed)
        #expect(abs(a3 - 1.0 / 3.0) < 1e-12)
    }

    @Test func tieAtHalfFollowsTheConfiguredRule() {
        var river = PrequentialMetrics(), contract = PrequentialMetrics(positiveAtHalf: true)
        var wRiver = WindowedBinaryMetrics(mode: .sliding(10)), wContract = WindowedBinaryMetrics(mode: .sliding(10), positiveAtHalf: true)
        river.update(p: 0.5, y: 1); contract.update(p: 0.5, y: 1)
        wRiver.update(p: 0.5, y: 1); wContract.update(p: 0.5, y: 1)
        #expect(river.accuracy == 0 && contract.accuracy == 1)
        #expect(wRiver.values.accuracy == 0 && wContract.values.accuracy == 1)
        #expect(wContract.values.recall == 1)
    }

    @Test func prequentialIgnoresInvalidLabels() {
        var m = PrequentialMetrics()
        m.update(p: 0.9, y: 1)
        m.update(p: 0.9, y: 2)
        m.update(p: 0.2, y: .nan)
        #expect(m.count == 1)
        #expect(abs(m.logLoss - -log(0.9)) < 1e-15)
    }
}

#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif
