#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One-sided one-sample Kolmogorov–Smirnov (Smirnov) distribution.
enum Smirnov {
    /// `P(D+_n >= x)`, the survival function of the one-sided statistic (scipy.special.smirnov).
    ///
    /// Birnbaum–Tingey: `x · Σ_{j=0}^{⌊n(1−x)⌋} C(n,j) (1−x−j/n)^(n−j) (x+j/n)^(j−1)`. Every term
    /// is positive, so summing them in log space keeps full relative accuracy, including for
    /// p-values far below 1e-300 (which underflow to 0 as in scipy). Same special cases as
    /// scipy's cephes code (x ≤ 1/n, x ≥ 1−1/n, underflow cut, n > 10^6 approximation).
    /// - Complexity: O(number of significant terms) ≤ O(n).
    static func sf(n: Int, x: Double) -> Double {
        guard n > 0, x >= 0, x <= 1 else { return .nan }
        if n == 1 { return x }
        if x == 0 { return 1 }
        if x == 1 { return 0 }
        let nd = Double(n)
        // floor(n·x) and remainder, exactly (fma gives the rounding error of n·x)
        let nxHi = nd * x
        let nxLo = fma(nd, x, -nxHi)
        var nxfl = nxHi.rounded(.down)
        var alpha = (nxHi - nxfl) + nxLo
        if alpha < 0 { nxfl -= 1; alpha += 1 }
        if alpha >= 1 { nxfl += 1; alpha -= 1 }
        let nxFloor = nxfl < 0x1p62 ? Int(nxfl) : Int.max / 2  // no trap for absurd n
        // x <= 1/n: cdf = x (1+x)^(n-1)
        if nxFloor == 0 || (nxFloor == 1 && alpha == 0) {
            let cdf = x * pow(1 + x, Double(n - 1))
            return Swift.min(1, Swift.max(0, 1 - cdf))
        }
        if -2 * nd * x * x < -708.3964185322641 { return 0 }  // MINLOG: sf underflows
        if nxFloor >= n - 1 { return pow(1 - x, nd) }
        if n > 1_000_000 {
            let logp = -pow(6.0 * nd * x + 1, 2) / 18.0 / nd
            return logp < -M_LN2 ? exp(logp) : 1 - (-expm1(logp))
        }
        var lastJ = n - nxFloor - (alpha == 0 ? 0 : 1)
        if alpha == 0 { lastJ -= 1 }
        let nTerms = lastJ + 1
        let logx = log(x)
        // Σ in log space with a running maximum (terms may exceed the double range before ·x).
        var logC = 0.0
        var sum = 0.0
        var maxLog = -Double.infinity
        var j = 0
        while j < nTerms {
            let jd = Double(j)
            let base1 = (nd - jd) / nd - x  // 1 - x - j/n
            let base2 = jd / nd + x         // x + j/n
            var lt = logC + (nd - jd) * log(base1)
            lt += j == 0 ? -logx : (jd - 1) * log(base2)
            if lt > maxLog {
                sum = sum * exp(maxLog - lt) + 1
                maxLog = lt
            } else {
                let rel = exp(lt - maxLog)
                sum += rel
                if rel != 0 && 4 * Double(nTerms - j) * rel < Double.ulpOfOne * sum && j != nTerms - 1 { break }
                if rel == 0 && j > n / 2 { break }
            }
            logC += log((nd - jd) / (jd + 1))
            j += 1
        }
        let logSF = logx + maxLog + log(sum)
        return Swift.min(1, Swift.max(0, exp(logSF)))
    }
}
