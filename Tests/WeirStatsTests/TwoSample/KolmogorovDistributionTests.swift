import Testing
@testable import WeirStats

@Suite struct KolmogorovDistributionTests {
    /// scipy.stats.kstwo.sf over a grid that reaches every branch of scipy's _kolmogn.
    @Test func matchesScipyKstwoSF() throws {
        #expect(kstwoRows.count > 200)
        var worst = 0.0
        for r in kstwoRows {
            let n = try #require(r["n"]?.int), d = try #require(r["d"]?.double), sf = try #require(r["sf"]?.double)
            let got = KolmogorovDistribution.sf(d, n: n)
            #expect(pClose(got, sf), "n=\(n) d=\(d): \(got) vs scipy \(sf)")
            if sf > 1e-300 { worst = max(worst, abs(got - sf) / sf) }
        }
        print("kstwo.sf worst relative error vs scipy: \(worst)")
    }

    @Test func limits() {
        #expect(KolmogorovDistribution.sf(0, n: 10) == 1)
        #expect(KolmogorovDistribution.sf(1, n: 10) == 0)
        #expect(KolmogorovDistribution.sf(.nan, n: 10) == 1)
        #expect(KolmogorovDistribution.sf(0.5, n: 0) == 1)
    }
}
