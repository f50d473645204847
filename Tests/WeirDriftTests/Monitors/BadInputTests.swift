import Foundation
import Testing
import WeirStats
import WeirTestSupport
@testable import WeirDrift

/// Bad inputs give defined records (null statistics plus a reason) or typed errors; never a crash,
/// never NaN/Inf in a record. Every record here is also validated against the JSON Schema.
@Suite struct BadInputTests {
    static func checkClean(_ records: [DriftRecord]) throws {
        let lines = records.map { $0.json() }
        for l in lines {
            #expect(hasNoNonFinite(l), "\(l)")
            _ = try parseJSON(l)
        }
        let (status, output) = try validateWithSchemas(lines)
        #expect(status == 0, "\(output)")
    }

    @Test func emptyWindowsAreUndefinedWithAReason() throws {
        // event-time window holding only missing values, and a count window of only NaN / invalid values
        var m = try FieldMonitor(MonitorConfig(feature: "e", window: .eventTime(width: 100), reference: .firstEvents(50)))
        for i in 0..<50 { m.feed(Double(i), eventTime: 0) }
        m.feedMissing(eventTime: 150); m.feedMissing(eventTime: 160)
        m.advanceWatermark(to: 200)
        var c = try FieldMonitor(numericConfig(window: 3, reference: 2))
        c.feed(1); c.feed(2); c.feed(.nan); c.feedInvalidType(); c.feed(-.infinity)
        let recs = m.drainRecords() + c.drainRecords()
        #expect(recs.count == 2)
        for r in recs {
            #expect(r.undefinedReason == .emptyCurrent && r.numeric == nil && !r.drifted && r.nCurrent == 0)
            #expect(r.driftReasons == ["empty_current"])
        }
        #expect(recs[0].quality.missing == 2 && recs[0].quality.missingRate == 1)
        #expect(recs[1].quality.nan == 1 && recs[1].quality.infinite == 1 && recs[1].quality.invalidType == 1)
        let j = try parseJSON(recs[0].json())
        #expect(j["psi"] is NSNull && j["ks_pvalue"] is NSNull && j["undefined_reason"] as? String == "empty_current")
        // an event-time window that never saw an event is never opened: no record at all
        m.advanceWatermark(to: 10_000)
        #expect(m.drainRecords().isEmpty)
        try Self.checkClean(recs)
    }

    @Test func constantReferenceGivesFiniteStatistics() throws {
        var m = try FieldMonitor(numericConfig(window: 200, reference: 500, policy: DriftPolicy(minWindowSize: 1)))
        m.feedAll([Double](repeating: 3.0, count: 500))
        m.feedAll([Double](repeating: 3.0, count: 200))
        m.feedAll((0..<200).map { Double($0 % 7) })
        let recs = m.drainRecords()
        let same = try #require(recs[0].numeric), moved = try #require(recs[1].numeric)
        #expect(same.psi == 0 && same.ksStatistic == 0 && same.ksPValue == 1 && same.wasserstein == 0)
        #expect(moved.psi > 0.2 && abs(moved.ksStatistic - 87.0 / 200) < 1e-12 && recs[1].drifted)   // F_cur(2.x) = 87/200
        // the normalised Wasserstein divides by max(std, 1e-3): finite
        #expect(moved.wassersteinNormalized.isFinite && moved.wassersteinNormalized == moved.wasserstein / 1e-3)
        try Self.checkClean(recs)
    }

    @Test func allNaNFieldHasNoStatisticsAndCountsQuality() throws {
        var m = try FieldMonitor(numericConfig(window: 100, reference: 100))
        m.feedAll([Double](repeating: .nan, count: 300))
        let recs = m.drainRecords()
        #expect(recs.count == 2)
        for r in recs {
            #expect(r.undefinedReason == .emptyReference && r.nReference == 0 && r.quality.nan == 100)
            #expect(!r.drifted)
        }
        // an all-NaN reference in contract mode is defined too (zero statistics, no drift)
        var cm = try ContractDriftMonitor(features: ["x"], referenceCount: 10, windowSize: 10)
        var nan = Double.nan
        for _ in 0..<30 { _ = withUnsafePointer(to: &nan) { cm.add(UnsafeBufferPointer(start: $0, count: 1)) } }
        let cr = cm.drainDriftRecords()
        #expect(cr.count == 2 && cr.allSatisfy { $0.n == 0 && !$0.drift && hasNoNonFinite($0.json()) })
        try Self.checkClean(recs)
    }

    @Test func singleCategoryIsDegenerateButDefined() throws {
        var m = try FieldMonitor(MonitorConfig(feature: "c", kind: .categorical, window: .count(100),
                                               reference: .firstEvents(100), policy: DriftPolicy(minWindowSize: 1)))
        for _ in 0..<200 { m.feed(category: 7) }
        for _ in 0..<100 { m.feed(category: 8) }   // a single, new category
        let recs = m.drainRecords()
        let same = try #require(recs[0].categorical), other = try #require(recs[1].categorical)
        #expect(same.chi2Statistic == 0 && same.chi2PValue == 1 && same.chi2DegreesOfFreedom == 0 && same.psi == 0)
        #expect(!recs[0].drifted)
        #expect(other.newCategories == ["8"] && other.psi > 1 && recs[1].drifted && other.chi2DegreesOfFreedom == 1)
        try Self.checkClean(recs)
    }

    @Test func wrongTypesAreCountedNotFatal() throws {
        var m = try FieldMonitor(MonitorConfig(feature: "c", kind: .categorical, window: .count(4), reference: .firstEvents(2)))
        m.feed(category: 1); m.feed(category: 2)
        m.feed(1.5); m.feed(category: 1); m.feedMissing(); m.feed(.infinity)
        let r = try #require(m.drainRecords().first)
        #expect(r.quality.invalidType == 2 && r.quality.missing == 1 && r.nCurrent == 1)
        try Self.checkClean([r])
    }
}
