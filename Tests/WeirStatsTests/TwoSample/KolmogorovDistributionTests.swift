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

@Suite struct KolmogorovExtremeInputTests {
    @Test func absurdSizesNeverTrap() {
        for n in [Int.max, Int.max / 3, 1 << 40, 2_000_000] {
            for d in [1e-12, 1e-6, 0.01, 0.3, 0.7, 0.999999] {
                let p = KolmogorovDistribution.sf(d, n: n)
                #expect(p >= 0 && p <= 1)
            }
        }
        let r = KolmogorovSmirnov.test(statistic: 0.3, n1: Int.max / 4, n2: Int.max / 4)
        #expect(r.pvalue >= 0 && r.pvalue <= 1)
        #expect(KolmogorovSmirnov.test(statistic: .nan, n1: 5, n2: 7).pvalue == 1)
        #expect(KolmogorovSmirnov.test(statistic: 0.5, n1: 0, n2: 7).pvalue == 1)
    }
}
