import Foundation
import Testing
import WeirStats
import WeirTestSupport
@testable import WeirDrift

/// A score monitor judged under one fixed model (``RescoringConfig``): the model at window close
/// scores the reference inputs and the window's inputs, so a model that keeps learning on
/// stationary inputs raises no score drift, while a shift of the inputs does.
@Suite struct RescoringTests {
    static let dimension = 3

    /// A logistic model whose weights depend on `version` (a stand-in for one that keeps learning).
    static func score(_ x: UnsafeBufferPointer<Double>, weights w: [Double]) -> Double {
        var z = 0.2
        for k in 0..<x.count { z += w[k] * x[k] }
        return 1 / (1 + exp(-z))
    }

    static func weights(window: Int) -> [Double] {
        // Large changes between windows: every weight grows and turns.
        let a = 0.3 + 0.25 * Double(window)
        return [a, -0.5 * a, 0.1 + 0.05 * Double(window * window % 7)]
    }

    static func config(_ name: String, rescoring: Bool, warmup: Int = 0, window: Int = 1_000) -> MonitorConfig {
        MonitorConfig(feature: name, window: .count(window), reference: .firstEvents(4_000), sampleCap: 2_000,
                      rescoring: rescoring ? RescoringConfig(dimension: dimension, warmupLabels: warmup) : nil)
    }

    /// Feeds `windows` windows of 1,000 events after a 4,000-event reference; the model's weights
    /// change at every window; inputs shift by `shift` on feature 0 from window `shiftFrom` on.
    /// Returns the records of the rescoring monitor and of a plain monitor fed the same scores.
    static func run(windows: Int, shift: Double = 0, shiftFrom: Int = .max, warmup: Int = 0,
                    labelsPerEvent: Int = 1) throws -> (rescored: [DriftRecord], plain: [DriftRecord]) {
        var rescored = try FieldMonitor(config("score", rescoring: true, warmup: warmup))
        var plain = try FieldMonitor(config("score", rescoring: false))
        var g = SeededGenerator(seed: 31)
        var out: ([DriftRecord], [DriftRecord]) = ([], [])
        var x = [Double](repeating: 0, count: dimension)
        var labels = 0
        let events = 4_000 + windows * 1_000
        for i in 0..<events {
            let window = i < 4_000 ? 0 : (i - 4_000) / 1_000
            for k in 0..<dimension { x[k] = g.nextGaussian() }
            if window >= shiftFrom && i >= 4_000 { x[0] += shift }
            let w = weights(window: window)
            labels += labelsPerEvent
            let s = x.withUnsafeBufferPointer { score($0, weights: w) }
            x.withUnsafeBufferPointer { rescored.feed(score: s, inputs: $0) }
            plain.feed(s)
            // The model at window close: the weights after this event.
            let wClose = weights(window: (i + 1 - 4_000) / 1_000)
            rescored.scoreAwaitingWindows(by: ScoringState(modelVersion: 1, labelsLearned: labels)) {
                score($0, weights: wClose)
            }
            #expect(rescored.awaitingScoreCount == 0)
            out.0 += rescored.drainRecords()
            out.1 += plain.drainRecords()
        }
        return out
    }

    @Test func learningModelOnStationaryInputsIsNoScoreDrift() throws {
        let (rescored, plain) = try Self.run(windows: 12)
        #expect(rescored.count == 12)
        #expect(rescored.allSatisfy { $0.numeric != nil && !$0.drifted }, "\(rescored.map { ($0.window, $0.numeric?.psi ?? -1) })")
        // The same scores judged as fed against the first events' scores do drift: the test
        // would fail if the monitor fell back to them.
        #expect(plain.filter(\.drifted).count >= 8, "\(plain.map { $0.numeric?.psi ?? -1 })")
        #expect(rescored.allSatisfy { $0.scoredBy?.modelVersion == 1 && $0.nReference == 4_000 && $0.nCurrent == 1_000 })
    }

    @Test func inputShiftIsScoreDriftUnderTheFixedModel() throws {
        let (rescored, _) = try Self.run(windows: 10, shift: 1.0, shiftFrom: 5)
        #expect(rescored.prefix(5).allSatisfy { !$0.drifted }, "\(rescored.map(\.drifted))")
        #expect(rescored.dropFirst(5).allSatisfy { $0.drifted }, "\(rescored.map { $0.numeric?.psi ?? -1 })")
    }

    /// The pause between steps of the judgement: called after every
    /// ``InputSample/scoresPerPause`` scores and between the sorts, while every score is computed
    /// once; the record is the one judged without pauses.
    @Test func pausesBetweenStepsLeaveTheRecordUnchanged() throws {
        var m = try FieldMonitor(MonitorConfig(feature: "score", window: .count(1_000), reference: .firstEvents(10_000), sampleCap: 2_000,
                                               rescoring: RescoringConfig(dimension: Self.dimension, warmupLabels: 0)))
        var g = SeededGenerator(seed: 8)
        var x = [Double](repeating: 0, count: Self.dimension)
        for i in 0..<11_000 {
            for k in 0..<Self.dimension { x[k] = g.nextGaussian() + (i >= 10_000 ? 0.2 : 0) }
            x.withUnsafeBufferPointer { m.feed(score: 0.5, inputs: $0) }
        }
        let w = Self.weights(window: 4)
        var twin = m
        var plainScores = 0
        twin.scoreAwaitingWindows(by: ScoringState(modelVersion: 2, labelsLearned: 5)) { plainScores += 1; return Self.score($0, weights: w) }
        var pauses: [Int] = []   // scores computed at each pause
        var scores = 0
        m.scoreAwaitingWindows(by: ScoringState(modelVersion: 2, labelsLearned: 5), pause: { pauses.append(scores) }) {
            scores += 1
            return Self.score($0, weights: w)
        }
        #expect(scores == 11_000 && plainScores == 11_000)
        // Four pauses inside the 10,000 reference scores, after them, after their sort, after the
        // reference is built, then after the window's 1,000 scores and after their sort.
        let chunk = InputSample.scoresPerPause
        #expect(pauses == [chunk, 2 * chunk, 3 * chunk, 4 * chunk, 10_000, 10_000, 10_000, 11_000, 11_000], "\(pauses)")
        let paused = m.drainRecords(), plain = twin.drainRecords()
        #expect(paused.count == 1)
        #expect(paused == plain)
        #expect(paused.first?.numeric != nil)
    }

    /// Statistics equal a direct comparison of the scores the test computes itself with the model
    /// at window close (an independent path through the library's comparison).
    @Test func statisticsEqualADirectComparisonOfRescoredSamples() throws {
        var m = try FieldMonitor(Self.config("score", rescoring: true))
        var g = SeededGenerator(seed: 5)
        var reference: [[Double]] = [], window: [[Double]] = []
        for i in 0..<5_000 {
            let x = (0..<Self.dimension).map { _ in g.nextGaussian() + (i >= 4_000 ? 0.3 : 0) }
            if i < 4_000 { reference.append(x) } else { window.append(x) }
            x.withUnsafeBufferPointer { m.feed(score: 0.5, inputs: $0) }   // the fed score is irrelevant
        }
        let w = Self.weights(window: 9)
        m.scoreAwaitingWindows(by: ScoringState(modelVersion: 3, labelsLearned: 77)) { Self.score($0, weights: w) }
        let rec = try #require(m.drainRecords().first)
        let refScores = reference.map { $0.withUnsafeBufferPointer { Self.score($0, weights: w) } }
        let curScores = window.map { $0.withUnsafeBufferPointer { Self.score($0, weights: w) } }
        let direct = try NumericReference(sample: refScores, bins: 10).compare(sortedCurrent: curScores.sorted(), options: NumericDriftOptions())
        let s = try #require(rec.numeric)
        #expect(s.psi == direct.psi)
        #expect(s.ksStatistic == direct.ks.statistic)
        #expect(s.ksPValue == direct.ks.pvalue)
        #expect(rec.scoredBy == ScoringState(modelVersion: 3, labelsLearned: 77))
        let json = try parseJSON(rec.json())
        let by = try #require(json["scored_by"] as? [String: Any])
        #expect(by["model_version"] as? Int == 3 && by["labels_learned"] as? Int == 77)
    }

    @Test func windowsBeforeTheWarmUpAreUndefinedAndNeverDrifted() throws {
        // 0.2 labels per event: windows close at 1,000, 1,200, 1,400 and 1,600 labels learned.
        var m = try FieldMonitor(Self.config("score", rescoring: true, warmup: 1_500))
        var g = SeededGenerator(seed: 8)
        var recs: [DriftRecord] = []
        var x = [Double](repeating: 0, count: Self.dimension)
        for i in 0..<8_000 {
            for k in 0..<Self.dimension { x[k] = g.nextGaussian() + (i >= 4_000 ? 3 : 0) }  // drifted from the start
            x.withUnsafeBufferPointer { m.feed(score: 0.5, inputs: $0) }
            m.scoreAwaitingWindows(by: ScoringState(modelVersion: 1, labelsLearned: (i + 1) / 5)) { Self.score($0, weights: [1, 1, 1]) }
            recs += m.drainRecords()
        }
        #expect(recs.map(\.undefinedReason) == [.modelWarmUp, .modelWarmUp, .modelWarmUp, nil])
        #expect(recs.map(\.drifted) == [false, false, false, true])
        #expect(recs.map { $0.scoredBy?.labelsLearned } == [1_000, 1_200, 1_400, 1_600])
        #expect(recs.prefix(3).allSatisfy { $0.driftReasons == ["model_warm_up"] && $0.numeric == nil }, "\(recs.map(\.driftReasons))")
    }

    @Test func snapshotMidWindowRestoresTheSameRecords() throws {
        let cfg = Self.config("score", rescoring: true, window: 700)
        var g = SeededGenerator(seed: 12)
        let xs = (0..<7_000).map { i in (0..<Self.dimension).map { _ in g.nextGaussian() + (i > 5_500 ? 1 : 0) } }
        let expected = try expectSnapshotCutsGiveTheSameRecords(cfg, events: 7_000, cuts: [1_500, 4_350, 5_999]) { m, i in
            xs[i].withUnsafeBufferPointer { m.feed(score: Double(i), inputs: $0) }
            m.scoreAwaitingWindows(by: ScoringState(modelVersion: 1, labelsLearned: i)) { Self.score($0, weights: Self.weights(window: i / 700)) }
            return m.drainRecords().map { $0.json() }
        }
        #expect(expected.count == 4)
        // A snapshot of a monitor without rescoring does not restore into one with it.
        let plain = try FieldMonitor(Self.config("score", rescoring: false, window: 700))
        #expect(throws: SerializationError.self) { try FieldMonitor(cfg, restoring: plain.snapshot()) }
    }

    @Test func badRescoringConfigurationsThrow() {
        #expect(throws: MonitorError.self) {
            try FieldMonitor(MonitorConfig(feature: "s", kind: .categorical, rescoring: RescoringConfig(dimension: 2)))
        }
        #expect(throws: MonitorError.self) { try FieldMonitor(MonitorConfig(feature: "s", reference: .rolling, rescoring: RescoringConfig(dimension: 2))) }
        #expect(throws: MonitorError.self) { try FieldMonitor(MonitorConfig(feature: "s", rescoring: RescoringConfig(dimension: 0))) }
        #expect(throws: MonitorError.self) { try FieldMonitor(MonitorConfig(feature: "s", rescoring: RescoringConfig(dimension: 2, referenceCap: 0))) }
    }

    /// Beyond its cap the reference inputs are a uniform reservoir sample of the reference events.
    @Test func referenceInputsBeyondTheCapAreSampled() throws {
        var cfg = Self.config("score", rescoring: true)
        cfg.rescoring!.referenceCap = 1_000
        var m = try FieldMonitor(cfg)
        for i in 0..<5_000 {
            let x = [Double(i), 0, 0]
            x.withUnsafeBufferPointer { m.feed(score: 0, inputs: $0) }
        }
        m.scoreAwaitingWindows(by: ScoringState(modelVersion: 1, labelsLearned: 10)) { $0[0] }
        let rec = try #require(m.drainRecords().first)
        #expect(rec.nReference == 1_000)
        #expect(rec.reference.n == 1_000 && rec.reference.cap == 1_000)
        // Sampled from all 4,000 reference events, not the first 1,000: the window (4,000…4,999)
        // lies entirely above them, and the reference's mean is near 2,000.
        let kept = m.referenceInputs!.vectors.enumerated().filter { $0.offset % 3 == 0 }.map(\.element)
        let mean = kept.reduce(0, +) / Double(kept.count)
        #expect(abs(mean - 2_000) < 150, "\(mean)")
        #expect(kept.allSatisfy { $0 < 4_000 })
    }
}
