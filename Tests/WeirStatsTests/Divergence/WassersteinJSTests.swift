import Testing
import WeirTestSupport
@testable import WeirStats

/// Against scipy/numpy values from scripts/fixtures/stats_gen_wasserstein_js.py (bins 3, 10, 20).
@Suite struct WassersteinJSTests {
    @Test func fixturePresent() { #expect(wassersteinJSCases.count == 12) }

    @Test(arguments: 0..<12)
    func scipyCase(_ index: Int) throws {
        let c = try #require(wassersteinJSCases.indices.contains(index) ? wassersteinJSCases[index] : nil)
        let name = c["name"]?.string ?? "?"
        let bins = try #require(c["bins"]?.int)
        let ref = try NumericReference(sample: c["reference"]!.doubles, bins: bins)
        #expect(ref.edges == c["psi_edges"]!.doubles, "\(name): edges")
        let cur = c["current"]!.doubles
        let r = try ref.compare(current: cur)
        let w = try #require(c["wasserstein"]?.double)
        #expect(statClose(r.wasserstein, w) || abs(r.wasserstein - w) < 1e-15, "\(name): W \(r.wasserstein) vs \(w)")
        let wn = try #require(c["wasserstein_normalized"]?.double)
        #expect(statClose(r.wassersteinNormalized, wn) || abs(r.wassersteinNormalized - wn) < 1e-12,
                "\(name): Wn \(r.wassersteinNormalized) vs \(wn)")
        let js = try #require(c["js_natural"]?.double)
        #expect(abs(r.jsDistance - js) <= 1e-9 * max(js, 1e-6), "\(name): JS \(r.jsDistance) vs \(js)")
        let r2 = try ref.compare(current: cur, options: NumericDriftOptions(jsBase: .two))
        let js2 = try #require(c["js_base2"]?.double)
        #expect(abs(r2.jsDistance - js2) <= 1e-9 * max(js2, 1e-6), "\(name): JS2 \(r2.jsDistance) vs \(js2)")
        let psi = try #require(c["psi"]?.double)
        #expect(statClose(r.psi, psi), "\(name): PSI \(r.psi) vs \(psi) (bins \(bins))")
        let ks = try #require(c["ks_statistic"]?.double)
        #expect(statClose(r.ks.statistic, ks), "\(name): D \(r.ks.statistic) vs \(ks)")
        let p = try #require(c["ks_pvalue_auto"]?.double)
        #expect(pClose(r.ks.pvalue, p), "\(name): p \(r.ks.pvalue) vs \(p) [\(r.ks.method)]")
        #expect(r.ks.method == (max(ref.count, cur.count) <= 10_000 ? .exact : .asymptotic))
    }
}
