import Foundation
import Testing
@testable import WeirStats

/// Interns strings to ids in order of first appearance (as the core's interner does).
struct Interner {
    var ids: [String: Int32] = [:]
    mutating func id(_ s: String) -> Int32 {
        if let i = ids[s] { return i }
        let i = Int32(ids.count)
        ids[s] = i
        return i
    }
}

@Suite struct CategoricalDriftTests {
    /// Every case of shared/vectors/categorical_drift.jsonl: PSI and chi² within 1e-9, p within 1e-6, dof exact.
    @Test func goldenVectors() throws {
        #expect(categoricalDriftCases.count == 3)
        for c in categoricalDriftCases {
            let name = c["name"]?.string ?? "?"
            var interner = Interner()
            let ref = CategoryCounts(ids: c["reference"]!.strings.map { interner.id($0) })
            let cur = CategoryCounts(ids: c["current"]!.strings.map { interner.id($0) })
            let r = try CategoricalDrift.compare(reference: ref, current: cur)
            let psi = try #require(c["psi"]?.double)
            #expect(statClose(r.psi, psi), "\(name): PSI \(r.psi) vs \(psi)")
            let chi = try #require(c["chi2_statistic"]?.double)
            #expect(statClose(r.chiSquare.statistic, chi), "\(name): chi2 \(r.chiSquare.statistic) vs \(chi)")
            let p = try #require(c["chi2_pvalue"]?.double)
            #expect(pClose(r.chiSquare.pvalue, p), "\(name): p \(r.chiSquare.pvalue) vs \(p)")
            #expect(r.chiSquare.degreesOfFreedom == c["chi2_dof"]?.int, "\(name): dof")
            #expect(r.jsDistance.isFinite && r.jsDistance >= 0)
        }
    }

    /// Generated cases (two categories, new and vanished categories, a rare tail, identical samples)
    /// against scipy's chi2_contingency and jensenshannon.
    @Test func generatedCasesMatchScipy() throws {
        #expect(generatedCategoricalCases.count == 4)
        for c in generatedCategoricalCases {
            let name = c["name"]?.string ?? "?"
            var interner = Interner()
            let ref = CategoryCounts(ids: c["reference"]!.strings.map { interner.id($0) })
            let cur = CategoryCounts(ids: c["current"]!.strings.map { interner.id($0) })
            let r = try CategoricalDrift.compare(reference: ref, current: cur)
            let r2 = try CategoricalDrift.compare(reference: ref, current: cur, jsBase: .two)
            #expect(statClose(r.psi, c["psi"]!.double!), "\(name): PSI \(r.psi)")
            #expect(statClose(r.chiSquare.statistic, c["chi2_statistic"]!.double!) || abs(r.chiSquare.statistic) < 1e-12,
                    "\(name): chi2 \(r.chiSquare.statistic)")
            #expect(pClose(r.chiSquare.pvalue, c["chi2_pvalue"]!.double!), "\(name): p \(r.chiSquare.pvalue)")
            #expect(r.chiSquare.degreesOfFreedom == c["chi2_dof"]?.int, "\(name): dof")
            let js = c["js_natural"]!.double!, js2 = c["js_base2"]!.double!
            #expect(abs(r.jsDistance - js) <= 1e-9 * max(js, 1e-6), "\(name): JS \(r.jsDistance) vs \(js)")
            #expect(abs(r2.jsDistance - js2) <= 1e-9 * max(js2, 1e-6), "\(name): JS2 \(r2.jsDistance) vs \(js2)")
            let expectedNew = Set(c["new_categories"]!.strings.map { interner.id($0) })
            #expect(Set(r.newCategories) == expectedNew, "\(name): new categories")
        }
    }

    /// scipy.stats.chi2.sf on a grid including large dof and underflowing tails.
    @Test func chiSquareSurvivalMatchesScipy() throws {
        #expect(chi2Rows.count > 80)
        for row in chi2Rows {
            let dof = try #require(row["dof"]?.int), x = try #require(row["x"]?.double), sf = try #require(row["sf"]?.double)
            let got = SpecialFunctions.chiSquareSF(x, dof: dof)
            #expect(pClose(got, sf), "dof \(dof) x \(x): \(got) vs \(sf)")
        }
    }

    @Test func jsAndNewCategoriesAgainstHandComputation() throws {
        // ref {0: 3, 1: 1}, cur {1: 2, 2: 2}
        let ref = CategoryCounts(ids: [0, 0, 0, 1] as [Int32])
        let cur = CategoryCounts(ids: [1, 1, 2, 2] as [Int32])
        let r = try CategoricalDrift.compare(reference: ref, current: cur)
        #expect(r.newCategories == [2])
        #expect(r.newCategoryValueCount == 2)
        #expect(r.categoryCount == 3)
        // p = (.75, .25, 0), q = (0, .5, .5), m = (.375, .375, .25)
        let kl1 = 0.75 * log(0.75 / 0.375) + 0.25 * log(0.25 / 0.375)
        let kl2 = 0.5 * log(0.5 / 0.375) + 0.5 * log(0.5 / 0.25)
        #expect(abs(r.jsDistance - ((kl1 + kl2) / 2).squareRoot()) < 1e-15)
        // PSI: (1e-4 − .75) ln(1e-4/.75) + (.5 − .25) ln(2) + (.5 − 1e-4) ln(.5/1e-4)
        let t1: Double = (1e-4 - 0.75) * log(1e-4 / 0.75)
        let t2: Double = 0.25 * log(2.0)
        let t3: Double = (0.5 - 1e-4) * log(0.5 / 1e-4)
        let psi = t1 + t2 + t3
        #expect(abs(r.psi - psi) < 1e-12)
        #expect(r.chiSquare.degreesOfFreedom == 2)
    }

    @Test func singleCategoryAndEmptyAreDefined() throws {
        let a = CategoryCounts(ids: [Int32](repeating: 5, count: 10))
        let b = CategoryCounts(ids: [Int32](repeating: 5, count: 3))
        let r = try CategoricalDrift.compare(reference: a, current: b)
        #expect(r.psi == 0 && r.jsDistance == 0)
        #expect(r.chiSquare == ChiSquareResult(statistic: 0, pvalue: 1, degreesOfFreedom: 0))
        #expect(throws: StatsError.emptySample(which: "current")) {
            _ = try CategoricalDrift.compare(reference: a, current: CategoryCounts())
        }
        #expect(throws: StatsError.emptySample(which: "reference")) {
            _ = try CategoricalDrift.compare(reference: CategoryCounts(), current: a)
        }
        // disjoint single categories: finite PSI and JS, chi² defined
        let c = CategoryCounts(ids: [Int32](repeating: 7, count: 4))
        let d = try CategoricalDrift.compare(reference: a, current: c)
        #expect(d.psi.isFinite && d.jsDistance.isFinite && d.chiSquare.pvalue.isFinite)
        #expect(d.newCategories == [7])
    }

    @Test func countsSparseIdsMergeAndSnapshot() throws {
        var a = CategoryCounts()
        a.add(3); a.add(-4, count: 2); a.add(Int32.max); a.add(3, count: 0)
        #expect(a.total == 4 && a.count(of: 3) == 1 && a.count(of: -4) == 2 && a.count(of: 99) == 0)
        #expect(a.categories == [-4, 3, Int32.max])
        var b = CategoryCounts(ids: [3, 3, 8] as [Int32])
        b.merge(a)
        #expect(b.count(of: 3) == 3 && b.total == 7 && b.categoryCount == 4)
        let restored = try CategoryCounts(serialized: b.serialized())
        #expect(restored == b)
    }
}
