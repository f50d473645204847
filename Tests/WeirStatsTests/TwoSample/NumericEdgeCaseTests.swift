import Testing
@testable import WeirStats

@Suite struct NumericEdgeCaseTests {
    @Test func emptySamplesAreTypedErrors() throws {
        #expect(throws: StatsError.emptySample(which: "reference")) { _ = try NumericReference(sample: []) }
        let ref = try NumericReference(sample: [1, 2, 3])
        #expect(throws: StatsError.emptySample(which: "current")) { _ = try ref.compare(current: []) }
        #expect(throws: StatsError.emptySample(which: "A")) { _ = try KolmogorovSmirnov.test(sortedA: [], sortedB: [1]) }
    }

    @Test func nonFiniteInputIsRejectedWithItsIndex() throws {
        #expect(throws: StatsError.nonFiniteValue(which: "reference", index: 1)) {
            _ = try NumericReference(sample: [1, .nan, 3])
        }
        let ref = try NumericReference(sample: [1, 2, 3])
        #expect(throws: StatsError.nonFiniteValue(which: "current", index: 2)) {
            _ = try ref.compare(current: [1, 2, .infinity])
        }
        // all-NaN field: the caller filters, counts, and gets a typed empty-sample error
        let (finite, dropped) = FiniteValues.filter([.nan, .nan, -.infinity])
        #expect(finite.isEmpty && dropped == 3)
        #expect(throws: StatsError.emptySample(which: "current")) { _ = try ref.compare(current: finite) }
        #expect(throws: StatsError.self) { _ = try ref.compare(sortedCurrent: [3, 1]) }
        #expect(throws: StatsError.self) { _ = try NumericReference(sample: [1], bins: 1) }
    }

    @Test func constantReferenceGivesFiniteDefinedValues() throws {
        let ref = try NumericReference(sample: [Double](repeating: 4, count: 1000))
        #expect(ref.edges == [4])
        #expect(ref.binCounts == [0, 1000])
        #expect(ref.standardDeviation == 0)
        let same = try ref.compare(current: [Double](repeating: 4, count: 50))
        #expect(same.psi == 0 && same.ks.statistic == 0 && same.ks.pvalue == 1 && same.wasserstein == 0 && same.jsDistance == 0)
        let moved = try ref.compare(current: [Double](repeating: 3, count: 50))
        // all current mass in the empty lower bin: (1 − 1e-4)·ln(1/1e-4) + (1e-4 − 1)·ln(1e-4/1)
        let expected = 2 * (1 - 1e-4) * 9.210340371976184  // ln(1e4)
        #expect(abs(moved.psi - expected) < 1e-9)
        #expect(moved.ks.statistic == 1)
        #expect(moved.wasserstein == 1 && moved.wassersteinNormalized == 1000)  // std floor 1e-3
        #expect(abs(moved.jsDistance - 0.6931471805599453.squareRoot()) < 1e-12)
        for v in [moved.psi, moved.ks.pvalue, moved.wassersteinNormalized, moved.jsDistance] { #expect(v.isFinite) }
    }

    @Test func singleValues() throws {
        let ref = try NumericReference(sample: [2])
        let r = try ref.compare(current: [5])
        #expect(r.ks.statistic == 1 && r.ks.pvalue == 1)  // scipy: ks_2samp([2],[5]) p = 1.0
        #expect(r.wasserstein == 3)
        #expect(r.psi.isFinite && r.jsDistance.isFinite)
    }

    @Test func sortedAndUnsortedInputAgree() throws {
        let values = (0..<500).map { Double(($0 * 7919) % 503) / 10 }
        let a = try NumericReference(sample: values)
        let b = try NumericReference(sortedSample: values.sorted())
        #expect(a == b)
        let cur = (0..<300).map { Double(($0 * 31) % 97) / 2 }
        let c1 = try a.compare(current: cur), c2 = try a.compare(sortedCurrent: cur.sorted())
        #expect(c1 == c2)
    }
}
