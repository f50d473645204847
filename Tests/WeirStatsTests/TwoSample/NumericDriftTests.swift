import Foundation
import Testing
import WeirTestSupport
@testable import WeirStats

@Suite struct NumericDriftTests {
    @Test func goldenVectorsArePresent() throws {
        #expect(numericDriftCases.count == 18)
    }

    /// Every case of shared/vectors/numeric_drift.jsonl: edges exact, D and PSI 1e-9, p-values 1e-6.
    @Test(arguments: 0..<18)
    func goldenCase(_ index: Int) throws {
        let cases = numericDriftCases
        let c = try #require(cases.indices.contains(index) ? cases[index] : nil)
        let name = c["name"]?.string ?? "?"
        let ref = try NumericReference(sample: c["reference"]!.doubles)
        let cur = c["current"]!.doubles
        #expect(ref.edges == c["psi_edges"]!.doubles, "\(name): edges")
        let r = try ref.compare(current: cur)
        let ks = try #require(c["ks_statistic"]?.double)
        #expect(statClose(r.ks.statistic, ks), "\(name): D \(r.ks.statistic) vs \(ks)")
        let pAuto = try #require(c["ks_pvalue_auto"]?.double)
        #expect(pClose(r.ks.pvalue, pAuto), "\(name): p auto \(r.ks.pvalue) vs \(pAuto)")
        let psi = try #require(c["psi_10_quantile_bins"]?.double)
        #expect(statClose(r.psi, psi), "\(name): PSI \(r.psi) vs \(psi)")
        let sortedCur = cur.sorted()
        if let pe = c["ks_pvalue_exact"]?.double {
            let e = try KolmogorovSmirnov.test(sortedA: ref.sorted, sortedB: sortedCur, method: .exact)
            #expect(e.method == .exact)
            #expect(pClose(e.pvalue, pe), "\(name): p exact \(e.pvalue) vs \(pe)")
        }
        let pa = try #require(c["ks_pvalue_asymp"]?.double)
        let a = try KolmogorovSmirnov.test(sortedA: ref.sorted, sortedB: sortedCur, method: .asymptotic)
        #expect(a.method == .asymptotic)
        #expect(statClose(a.statistic, ks))
        #expect(pClose(a.pvalue, pa), "\(name): p asymp \(a.pvalue) vs \(pa)")
        // never NaN
        for v in [r.psi, r.ks.pvalue, r.wasserstein, r.wassersteinNormalized, r.jsDistance] { #expect(v.isFinite) }
    }
}
