#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Special functions needed by the tests (thread-safe; no global state).
public enum SpecialFunctions {
    /// `ln Γ(x)` for `x > 0` (re-entrant `lgamma_r`).
    public static func logGamma(_ x: Double) -> Double {
        var sign: Int32 = 0
        return lgamma_r(x, &sign)
    }

    /// Regularized upper incomplete gamma `Q(a, x) = Γ(a, x) / Γ(a)` (scipy.special.gammaincc).
    ///
    /// Series for `P` when `x < a + 1` (then `Q = 1 − P`), otherwise the modified-Lentz continued
    /// fraction for `Q` directly, so tiny upper tails keep full relative accuracy down to the
    /// double range (results below ~1e-308 underflow to 0). `a > 0`; `x <= 0` gives 1; NaN gives 1.
    /// - Complexity: O(√a) iterations typical.
    public static func regularizedUpperGamma(a: Double, x: Double) -> Double {
        guard a > 0, !x.isNaN else { return 1 }
        if x <= 0 { return 1 }
        if x.isInfinite { return 0 }
        let logPrefix = -x + a * log(x) - logGamma(a)
        if x < a + 1 {
            // P(a,x) = e^{-x} x^a / Γ(a+1) · Σ x^n / ((a+1)…(a+n))
            var ap = a
            var del = 1.0 / a
            var sum = del
            for _ in 0..<100_000 {
                ap += 1
                del *= x / ap
                sum += del
                if abs(del) < abs(sum) * 1e-17 { break }
            }
            let p = sum * exp(logPrefix)
            return Swift.min(1, Swift.max(0, 1 - p))
        }
        // Q(a,x) = e^{-x} x^a / Γ(a) · 1/(x+1−a− 1·(1−a)/(x+3−a− 2·(2−a)/(x+5−a− …)))
        let tiny = 1e-300
        var b = x + 1 - a
        var c = 1.0 / tiny
        var d = 1.0 / b
        var h = d
        var i = 1.0
        while i < 100_000 {
            let an = -i * (i - a)
            b += 2
            d = an * d + b
            if abs(d) < tiny { d = tiny }
            c = b + an / c
            if abs(c) < tiny { c = tiny }
            d = 1 / d
            let del = d * c
            h *= del
            if abs(del - 1) < 1e-16 { break }
            i += 1
        }
        let q = exp(logPrefix) * h
        return Swift.min(1, Swift.max(0, q))
    }

    /// Survival function of the chi-square distribution with `dof` degrees of freedom
    /// (scipy.stats.chi2.sf).
    public static func chiSquareSF(_ x: Double, dof: Int) -> Double {
        guard dof > 0 else { return x > 0 ? 0 : 1 }
        return regularizedUpperGamma(a: Double(dof) / 2, x: x / 2)
    }
}
