import Foundation
import Testing
import WeirStats
import WeirTestSupport
@testable import WeirDrift

/// Windowing, sampling, quality and references of FieldMonitor, checked against statistics computed
/// directly (WeirStats, itself checked against scipy) on the slices each window must contain.
@Suite struct FieldMonitorTests {
    static func gaussians(_ n: Int, seed: UInt64, shift: Double = 0) -> [Double] {
        var g = SeededGenerator(seed: seed)
        return (0..<n).map { _ in g.nextGaussian() + shift }
    }

    @Test func countWindowsMatchDirectComparisonOnTheirSlices() throws {
        let values = Self.gaussians(5_000 + 3 * 1_000 + 400, seed: 1, shift: 0)
        var m = try FieldMonitor(numericConfig(window: 1_000, reference: 5_000))
        m.feedAll(values)
        let recs = m.drainRecords()
        #expect(recs.count == 3)   // the final partial window (400) is not closed
        let ref = try NumericReference(sample: Array(values[0..<5_000]))
        for (w, r) in recs.enumerated() {
            let slice = Array(values[(5_000 + w * 1_000)..<(5_000 + (w + 1) * 1_000)])
            let direct = try ref.compare(current: slice)
            let s = try #require(r.numeric)
            #expect(r.window == w && r.windowType == .count)
            #expect(r.windowStart == Int64(w * 1_000) && r.windowEnd == Int64((w + 1) * 1_000))
            #expect(r.nReference == 5_000 && r.nCurrent == 1_000)
            #expect(s == NumericStatistics(direct))
            #expect(!r.sampling.sampled && r.sampling.kept == 1_000 && r.sampling.seen == 1_000)
            #expect(r.reference.kind == .firstEvents && r.reference.n == 5_000 && r.reference.sketchRankError == nil)
        }
    }

    /// The shared golden vectors through a monitor (reference = first N events, one window = the
    /// current sample): the record's KS and PSI equal scipy's.
    @Test func monitorRecordsMatchScipyOnSharedVectors() throws {
        for c in try jsonLines("numeric_drift.jsonl") {
            let ref = try #require(c["reference"] as? [Double]), cur = try #require(c["current"] as? [Double])
            var m = try FieldMonitor(numericConfig("v", window: cur.count, reference: ref.count))
            m.feedAll(ref + cur)
            let r = try #require(m.drainRecords().first)
            let s = try #require(r.numeric)
            #expect(isClose(s.ksStatistic, try #require(c["ks_statistic"] as? Double), relative: 1e-9))
            #expect(isClose(s.ksPValue, try #require(c["ks_pvalue_auto"] as? Double), relative: 1e-6, absolute: 1e-300))
            #expect(isClose(s.psi, try #require(c["psi_10_quantile_bins"] as? Double), relative: 1e-9, absolute: 1e-15))
        }
    }

    @Test func perValueFeedEqualsBulkFeed() throws {
        let values = Self.gaussians(8_000, seed: 2)
        var a = try FieldMonitor(numericConfig(window: 500, reference: 3_000, cap: 200))
        var b = a
        a.feedAll(values)
        for v in values { b.feed(v) }
        #expect(a.drainRecords() == b.drainRecords())
    }

    @Test func samplingBeyondCapIsReportedAndIsASubsetOfTheWindow() throws {
        let values = Self.gaussians(2_000 + 5_000, seed: 3)
        var m = try FieldMonitor(numericConfig(window: 5_000, reference: 2_000, cap: 700))
        m.feedAll(values)
        let r = try #require(m.drainRecords().first)
        #expect(r.sampling == SamplingInfo(cap: 700, seen: 5_000, kept: 700))
        #expect(r.sampling.sampled && r.nCurrent == 700)
        // the statistics use exactly 700 values drawn from the window: KS D vs the full window is small
        let full = try NumericReference(sample: Array(values[0..<2_000])).compare(current: Array(values[2_000...]))
        #expect(abs(try #require(r.numeric).ksStatistic - full.ks.statistic) < 0.08)
    }

    @Test func qualityCountsMissingInvalidNonFiniteAndOutOfRange() throws {
        var cfg = numericConfig(window: 10, reference: 5)
        cfg.validRange = 0...10
        var m = try FieldMonitor(cfg)
        for v in [1.0, 2, 3, 4, 5] { m.feed(v) }
        m.addDeadLetters(3)
        m.feed(1); m.feed(.nan); m.feed(.infinity); m.feed(-.infinity); m.feedMissing(); m.feedMissing()
        m.feedInvalidType(); m.feed(category: 4); m.feed(11); m.feed(-1)
        let r = try #require(m.drainRecords().first)
        let q = r.quality
        #expect(q.count == 10 && q.missing == 2 && q.invalidType == 2 && q.nan == 1 && q.infinite == 2)
        #expect(q.outOfRange == 2 && q.validCount == 3 && q.deadLetters == 3)
        #expect(q.missingRate == 0.2 && q.invalidTypeRate == 0.2 && q.outOfRangeRate == 0.2 && q.nanInfCount == 3)
        #expect(r.nCurrent == 3)
        #expect(r.driftReasons == ["insufficient_window"] && !r.drifted)   // 3 < minWindowSize 100
    }

    @Test func eventTimeWindowsCloseOnWatermarkAndCountLateEvents() throws {
        let cfg = MonitorConfig(feature: "t", window: .eventTime(width: 1_000), reference: .firstEvents(200), sampleCap: 10_000)
        var m = try FieldMonitor(cfg)
        let ref = Self.gaussians(200, seed: 4)
        for (i, v) in ref.enumerated() { m.feed(v, eventTime: Int64(i)) }
        // windows [0,1000), [1000,2000), [2000,3000); events out of order within 2 windows
        let cur = Self.gaussians(300, seed: 5)
        var expected: [Int64: [Double]] = [:]
        for (i, v) in cur.enumerated() {
            let t = Int64((i * 7919) % 3_000)
            m.feed(v, eventTime: t)
            expected[t / 1_000 * 1_000, default: []].append(v)
        }
        m.advanceWatermark(to: 1_999)
        var recs = m.drainRecords()
        #expect(recs.count == 1 && recs[0].windowStart == 0 && recs[0].windowEnd == 1_000)
        m.feed(9.0, eventTime: 500)   // its window closed: late
        #expect(m.lateEvents == 1)
        m.advanceWatermark(to: 1_000)  // going back is ignored
        m.advanceWatermark(to: 3_000)
        recs += m.drainRecords()
        #expect(recs.map(\.windowStart) == [0, 1_000, 2_000])
        #expect(recs.map(\.window) == [0, 1, 2])
        let reference = try NumericReference(sample: ref)
        for r in recs {
            let direct = try reference.compare(current: try #require(expected[r.windowStart]))
            #expect(r.numeric == NumericStatistics(direct))
            #expect(r.windowType == .eventTime && r.nCurrent == expected[r.windowStart]!.count)
        }
        // negative event times go to the window below zero
        m.feed(1.0, eventTime: -1)
        #expect(m.lateEvents == 2)   // -1 lies in [-1000, 0), already passed
    }

    @Test func eventTimeRangeReferenceIsBuiltAtItsEnd() throws {
        let cfg = MonitorConfig(feature: "r", window: .count(100), reference: .eventTimeRange(start: 1_000, end: 2_000))
        var m = try FieldMonitor(cfg)
        m.feed(50.0, eventTime: 500)   // before the range: ignored
        let ref = Self.gaussians(300, seed: 6)
        for (i, v) in ref.enumerated() { m.feed(v, eventTime: 1_000 + Int64(i)) }
        let cur = Self.gaussians(100, seed: 7, shift: 1)
        for v in cur { m.feed(v, eventTime: 2_500) }
        // the count window filled before the watermark passed the range end: no reference yet
        #expect(try #require(m.drainRecords().first).undefinedReason == .noReference)
        m.advanceWatermark(to: 2_000)
        #expect(m.hasReference && m.ignoredEvents == 1)
        m.feed(0.0, eventTime: 1_500)  // in the range, after it was built: ignored
        #expect(m.ignoredEvents == 2)
        for v in cur { m.feed(v, eventTime: 2_600) }
        let r = try #require(m.drainRecords().first)
        #expect(r.numeric == NumericStatistics(try NumericReference(sample: ref).compare(current: cur)))
        #expect(r.reference.kind == .eventTimeRange && r.reference.timeStart == 1_000 && r.reference.timeEnd == 2_000)
    }

    @Test func rollingReferenceComparesWithThePreviousWindow() throws {
        let cfg = MonitorConfig(feature: "roll", window: .count(400), reference: .rolling)
        var m = try FieldMonitor(cfg)
        let a = Self.gaussians(400, seed: 8), b = Self.gaussians(400, seed: 9, shift: 2), c = Self.gaussians(400, seed: 10, shift: 2)
        m.feedAll(a + b + c)
        let recs = m.drainRecords()
        #expect(recs.count == 3)
        #expect(recs[0].undefinedReason == .noReference)
        #expect(recs[1].numeric == NumericStatistics(try NumericReference(sample: a).compare(current: b)))
        #expect(recs[2].numeric == NumericStatistics(try NumericReference(sample: b).compare(current: c)))
        #expect(recs[1].drifted && !recs[2].drifted)
        #expect(recs[2].reference.kind == .rolling && recs[2].reference.id == "roll/rolling/1")
    }

    @Test func categoricalWindowsMatchDirectComparisonAndNameNewCategories() throws {
        let cfg = MonitorConfig(feature: "merchant", kind: .categorical, window: .count(300), reference: .firstEvents(600))
        var m = try FieldMonitor(cfg)
        m.categoryNames = ["grocery", "fuel", "travel", "crypto"]
        var g = SeededGenerator(seed: 11)
        let ref = (0..<600).map { _ in Int32(g.next() % 3) }
        var cur: [Int32] = []
        for i in 0..<300 {
            let id: Int32 = i % 10 == 0 ? Int32(3 + (i / 10) % 2) : Int32(g.next() % 3)
            cur.append(id)
        }
        for id in ref + cur { m.feed(category: id) }
        let r = try #require(m.drainRecords().first)
        let direct = try CategoricalDrift.compare(reference: CategoryCounts(ids: ref), current: CategoryCounts(ids: cur))
        let s = try #require(r.categorical)
        #expect(s.psi == direct.psi && s.chi2Statistic == direct.chiSquare.statistic)
        #expect(s.chi2PValue == direct.chiSquare.pvalue && s.chi2DegreesOfFreedom == direct.chiSquare.degreesOfFreedom)
        #expect(s.jsDistance == direct.jsDistance)
        #expect(s.newCategories == ["crypto", "4"])
        #expect(r.quality.newCategories == 2 && r.quality.newCategoryValues == 30)
        #expect(r.drifted && r.sampling.cap == nil)
    }

    @Test func sketchBackedReferenceBeyondCapRecordsItsError() throws {
        var cfg = numericConfig(window: 1_000, reference: 20_000)
        cfg.referenceCap = 2_000
        cfg.referenceSketchK = 200
        var m = try FieldMonitor(cfg)
        let values = Self.gaussians(21_000, seed: 12)
        m.feedAll(values)
        let r = try #require(m.drainRecords().first)
        let err = try #require(r.reference.sketchRankError)
        #expect(err > 0 && err < 0.02 && r.reference.cap == 2_000 && r.nReference == 20_000)
        // KS D within the stated bound (rank error + grid) of the exact comparison
        let exact = try NumericReference(sample: Array(values[0..<20_000])).compare(current: Array(values[20_000...]))
        #expect(abs(try #require(r.numeric).ksStatistic - exact.ks.statistic) <= err + 1.0 / 20_000 + 1e-12)   // grid of min(100000, n) points
    }

    @Test func invalidConfigurationsThrow() {
        #expect(throws: MonitorError.self) { try FieldMonitor(numericConfig(window: 0)) }
        #expect(throws: MonitorError.self) { try FieldMonitor(numericConfig(reference: 0)) }
        #expect(throws: MonitorError.self) { try FieldMonitor(numericConfig(cap: 0)) }
        #expect(throws: MonitorError.self) {
            try FieldMonitor(MonitorConfig(feature: "x", reference: .eventTimeRange(start: 5, end: 5)))
        }
        #expect(throws: MonitorError.self) {
            try FieldMonitor(MonitorConfig(feature: "x", kind: .numeric,
                                           reference: .fixed(.categorical(CategoryCounts(ids: [1])), ReferenceInfo(kind: .profile, id: "p", n: 1))))
        }
    }
}

@Suite struct FieldMonitorOpenWindowLimitTests {
    /// Beyond `maxOpenWindows`, the oldest window is force-closed; values for it (or older) are late,
    /// never a second record for the same window.
    @Test func oldestWindowIsForceClosedAndLaterValuesForItAreLate() throws {
        var m = try FieldMonitor(MonitorConfig(feature: "w", window: .eventTime(width: 10), reference: .firstEvents(5),
                                               policy: DriftPolicy(minWindowSize: 1), maxOpenWindows: 3))
        for x in [1.0, 2, 3, 4, 5] { m.feed(x, eventTime: 0) }
        for t in [Int64(0), 10, 20] { m.feed(1.0, eventTime: t) }
        #expect(m.drainRecords().isEmpty)
        m.feed(1.0, eventTime: 30)               // a 4th window: [0,10) is force-closed
        var recs = m.drainRecords()
        #expect(recs.map(\.windowStart) == [0])
        m.feed(2.0, eventTime: 5)                // its window was force-closed: late
        #expect(m.lateEvents == 1)
        m.advanceWatermark(to: 100)
        recs += m.drainRecords()
        #expect(recs.map(\.windowStart) == [0, 10, 20, 30])
        #expect(recs.allSatisfy { $0.nCurrent == 1 })
    }
}
