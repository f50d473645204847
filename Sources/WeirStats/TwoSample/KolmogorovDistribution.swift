#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The two-sided one-sample Kolmogorov–Smirnov distribution of `D_n` (scipy.stats.kstwo).
///
/// ``sf(_:n:)`` follows scipy's `_kolmogn` algorithm selection (Simard & L'Ecuyer 2011):
/// Ruben–Gambino closed forms at the ends, `2·smirnov` for large `x`, the Durbin matrix
/// (Marsaglia–Tsang–Wang) and Pomeranz recursions for small `n·x²`, Pelz–Good otherwise.
public enum KolmogorovDistribution {
    static let ep128 = 0x1p128
    static let em128 = 0x1p-128

    /// `P(D_n > d)` for the two-sided statistic with sample size `n` (= `scipy.stats.kstwo.sf(d, n)`).
    /// Returns a value in [0, 1]; `n < 1` or NaN `d` give 1 (no evidence).
    public static func sf(_ d: Double, n: Int) -> Double {
        guard n >= 1, !d.isNaN else { return 1 }
        if d >= 1 { return 0 }
        let nd = Double(n)
        if d <= 0.5 / nd { return 1 }  // below kstwo's support
        let t = nd * d
        if t <= 1 {
            if t <= 0.5 { return 1 }
            let cdf: Double
            if n <= 140 {
                var p = 1.0
                for i in 1...n { p *= Double(i) * (1.0 / nd) * (2 * t - 1) }
                cdf = p
            } else {
                cdf = exp(logNFactorialDivNPowN(n) + nd * log(2 * t - 1))
            }
            return clip(1 - cdf)
        }
        if t >= nd - 1 { return clip(2 * pow(1 - d, nd)) }
        if d >= 0.5 { return clip(2 * Smirnov.sf(n: n, x: d)) }
        let nx2 = t * d
        if n <= 140 {
            if nx2 <= 0.754693 { return clip(1 - durbinMTW(n: n, d: d)) }
            if nx2 <= 4 { return clip(1 - pomeranz(n: n, x: d)) }
            return clip(2 * Smirnov.sf(n: n, x: d))
        }
        if nx2 >= 370 { return 0 }
        if nx2 >= 2.2 { return clip(2 * Smirnov.sf(n: n, x: d)) }
        let cdf: Double
        if n <= 100_000 && nd * pow(d, 1.5) <= 1.4 {
            cdf = durbinMTW(n: n, d: d)
        } else {
            cdf = pelzGood(n: n, x: d)
        }
        return clip(1 - cdf)
    }

    @inline(__always) static func clip(_ p: Double) -> Double { p.isNaN ? 1 : Swift.min(1, Swift.max(0, p)) }

    static func logNFactorialDivNPowN(_ n: Int) -> Double {
        let coeffs: [Double] = [-2.955065359477124183e-2, 6.4102564102564102564e-3,
                                -1.9175269175269175269e-3, 8.4175084175084175084e-4,
                                -5.952380952380952381e-4, 7.9365079365079365079e-4,
                                -2.7777777777777777778e-3, 8.3333333333333333333e-2]
        let nd = Double(n)
        let rn = 1.0 / nd
        let z = rn / nd
        var poly = 0.0
        for c in coeffs { poly = poly * z + c }
        return log(nd) / 2 - nd + log(2 * Double.pi) / 2 + rn * poly
    }

    /// `P(D_n <= d)` by the Durbin matrix method (MTW): the (k,k) entry of `H^n · n!/n^n`.
    /// - Complexity: O(m³ log n), m = 2⌈nd⌉ − 1.
    static func durbinMTW(n: Int, d: Double) -> Double {
        if d >= 1 { return 1 }
        let nd = Double(n) * d
        if nd <= 0.5 { return 0 }
        let k = Int(nd.rounded(.up))
        let h = Double(k) - nd
        let m = 2 * k - 1
        var v = [Double](repeating: 0, count: m)
        var w = [Double](repeating: 0, count: m)
        var fac = 1.0
        for j in 1...m {
            w[j - 1] = fac
            fac /= Double(j)
            v[j - 1] = (1 - pow(h, Double(j))) * fac
        }
        let tt = pow(Swift.max(2 * h - 1, 0), Double(m)) - 2 * pow(h, Double(m))
        v[m - 1] = (1 + tt) * fac
        var H = [Double](repeating: 0, count: m * m)
        for i in 1..<Swift.max(1, m) {
            for r in (i - 1)..<m { H[r * m + i] = w[r - (i - 1)] }
        }
        for r in 0..<m { H[r * m] = v[r] }
        for c in 0..<m { H[(m - 1) * m + c] = v[m - 1 - c] }

        var P = [Double](repeating: 0, count: m * m)
        for i in 0..<m { P[i * m + i] = 1 }
        var tmp = [Double](repeating: 0, count: m * m)
        var nn = n
        var expnt = 0
        var hExpnt = 0
        while nn > 0 {
            if nn % 2 == 1 {
                matmul(P, H, into: &tmp, m)
                swap(&P, &tmp)
                expnt += hExpnt
            }
            nn /= 2
            if nn == 0 { break }
            matmul(H, H, into: &tmp, m)
            swap(&H, &tmp)
            hExpnt *= 2
            if abs(H[(k - 1) * m + (k - 1)]) > ep128 {
                for i in H.indices { H[i] /= ep128 }
                hExpnt += 128
            }
        }
        var p = P[(k - 1) * m + (k - 1)]
        for i in 1...n {
            p = Double(i) * p / Double(n)
            if abs(p) < em128 {
                p *= ep128
                expnt -= 128
            }
        }
        if expnt != 0 { p = scalbn(p, Int32(expnt)) }
        return clip(p)
    }

    static func matmul(_ a: [Double], _ b: [Double], into c: inout [Double], _ m: Int) {
        a.withUnsafeBufferPointer { A in
            b.withUnsafeBufferPointer { B in
                c.withUnsafeMutableBufferPointer { C in
                    for i in 0..<m {
                        let row = i * m
                        for j in 0..<m { C[row + j] = 0 }
                        for l in 0..<m {
                            let a = A[row + l]
                            if a == 0 { continue }
                            let brow = l * m
                            for j in 0..<m { C[row + j] += a * B[brow + j] }
                        }
                    }
                }
            }
        }
    }

    static func pomeranzJ1J2(_ i: Int, _ n: Int, _ ll: Int, _ ceilf: Int, _ roundf: Int) -> (Int, Int) {
        var j1: Int, j2: Int
        if i == 0 {
            j1 = -ll - ceilf - 1; j2 = ll + ceilf - 1
        } else {
            let ip1div2 = (i + 1) / 2, ip1mod2 = (i + 1) % 2
            if ip1mod2 == 0 {
                if ip1div2 == n + 1 {
                    j1 = n - ll - ceilf - 1; j2 = n + ll + ceilf - 1
                } else {
                    j1 = ip1div2 - 1 - ll - roundf - 1; j2 = ip1div2 + ll - 1 + ceilf - 1
                }
            } else {
                j1 = ip1div2 - 1 - ll - 1; j2 = ip1div2 + ll + roundf - 1
            }
        }
        return (Swift.max(j1 + 2, 0), Swift.min(j2, n))
    }

    /// `P(D_n <= x)` by the Pomeranz (1974) recursion, as in scipy.
    static func pomeranz(n: Int, x: Double) -> Double {
        let t = Double(n) * x
        let ll = Int(t.rounded(.down))
        let f = t - Double(ll)
        let g = Swift.min(f, 1 - f)
        let ceilf = f > 0 ? 1 : 0
        let roundf = f > 0.5 ? 1 : 0
        let npwrs = 2 * (ll + 1)
        var gpower = [Double](repeating: 1, count: npwrs)
        var twogpower = [Double](repeating: 1, count: npwrs)
        var onem2gpower = [Double](repeating: 1, count: npwrs)
        let gn = g / Double(n), tgn = 2 * g / Double(n), omgn = (1 - 2 * g) / Double(n)
        for m in 1..<npwrs {
            gpower[m] = gpower[m - 1] * gn / Double(m)
            twogpower[m] = twogpower[m - 1] * tgn / Double(m)
            onem2gpower[m] = onem2gpower[m - 1] * omgn / Double(m)
        }
        var V0 = [Double](repeating: 0, count: npwrs)
        var V1 = [Double](repeating: 0, count: npwrs)
        V1[0] = 1
        var V0s = 0, V1s = 0
        var expnt = 0
        var (j1, j2) = pomeranzJ1J2(0, n, ll, ceilf, roundf)
        for i in 1..<(2 * n + 2) {
            let k1 = j1
            swap(&V0, &V1)
            swap(&V0s, &V1s)
            for q in V1.indices { V1[q] = 0 }
            (j1, j2) = pomeranzJ1J2(i, n, ll, ceilf, roundf)
            let useG = i == 1 || i == 2 * n + 1
            let ln2 = j2 - k1 + 1
            if ln2 > 0 {
                let aStart = k1 - V0s
                let aLen = Swift.max(0, Swift.min(ln2, npwrs - aStart))
                let convStart = j1 - k1
                let convLen = j2 - j1 + 1
                for c in 0..<Swift.max(0, convLen) {
                    let idx = convStart + c
                    var s = 0.0
                    // conv[idx] = Σ_a A[a] · pw[idx − a], with 0 <= idx − a < ln2
                    let lo = Swift.max(0, idx - (ln2 - 1))
                    let hi = Swift.min(aLen - 1, idx)
                    if lo <= hi {
                        for a in lo...hi {
                            let pw: Double
                            if useG { pw = gpower[idx - a] } else if i % 2 == 1 { pw = twogpower[idx - a] } else { pw = onem2gpower[idx - a] }
                            s += V0[aStart + a] * pw
                        }
                    }
                    V1[c] = s
                }
                var mx = -Double.infinity
                for q in V1.indices { mx = Swift.max(mx, V1[q]) }
                if mx > 0 && mx < em128 {
                    for q in V1.indices { V1[q] *= ep128 }
                    expnt -= 128
                }
                V1s = V0s + j1 - k1
            }
        }
        let idx = n - V1s
        guard idx >= 0 && idx < npwrs else { return .nan }
        var ans = V1[idx]
        for m in 1...n {
            if abs(ans) > ep128 {
                ans *= em128
                expnt += 128
            }
            ans *= Double(m)
        }
        if expnt != 0 { ans = scalbn(ans, Int32(expnt)) }
        return clip(ans)
    }

    /// Pelz–Good asymptotic approximation to `P(D_n <= x)`.
    static func pelzGood(n: Int, x: Double) -> Double {
        if x <= 0 { return 0 }
        if x >= 1 { return 1 }
        let pi2 = Double.pi * Double.pi, pi4 = pi2 * pi2, pi6 = pi4 * pi2
        let sqrt2pi = (2 * Double.pi).squareRoot()
        let z = Double(n).squareRoot() * x
        let z2 = z * z, z3 = z2 * z, z4 = z2 * z2, z6 = z4 * z2
        let qlog = -pi2 / 8 / z2
        if qlog < -708 { return 0 }
        var q = exp(qlog)
        let k1a = -z2, k1b = pi2 / 4
        let k2a = 6 * z6 + 2 * z4
        let k2b = (2 * z4 - 5 * z2) * pi2 / 4
        let k2c = pi4 * (1 - 2 * z2) / 16
        let k3d = pi6 * (5 - 30 * z2) / 64
        let k3c = pi4 * (-60 * z2 + 212 * z4) / 16
        let k3b = pi2 * (135 * z4 - 96 * z6) / 4
        let k3a = -30 * z6 - 90 * pow(z, 8)
        var K = [0.0, 0.0, 0.0, 0.0]
        let maxk = Int((16 * z / Double.pi).rounded(.up))
        var kk = maxk
        while kk >= 1 {
            let m = Double(2 * kk - 1)
            let m2 = m * m, m4 = m2 * m2, m6 = m4 * m2
            let qp = pow(q, Double(8 * kk))
            let c: [Double] = [1.0, k1a + k1b * m2, k2a + k2b * m2 + k2c * m4, k3a + k3b * m2 + k3c * m4 + k3d * m6]
            for i in 0..<4 { K[i] = K[i] * qp + c[i] }
            kk -= 1
        }
        let den = [z, 6 * z4, 72 * pow(z, 7), 6480 * pow(z, 10)]
        for i in 0..<4 { K[i] = K[i] * q * sqrt2pi / den[i] }
        q = exp(-pi2 / 2 / z2)
        var k2extra = 0.0, k3extra = 0.0
        let sqrt3z = 3.0.squareRoot() * z
        kk = maxk
        while kk >= 1 {
            let ks = Double(kk)
            let ks2 = ks * ks
            let qp = pow(q, ks2)
            let kspi = Double.pi * ks
            k2extra += ks2 * qp
            k3extra += (sqrt3z + kspi) * (sqrt3z - kspi) * ks2 * qp
            kk -= 1
        }
        K[2] += k2extra * pi2 * sqrt2pi / (-36 * z3)
        K[3] += k3extra * pi2 * sqrt2pi / (216 * z6)
        var sum = 0.0
        for i in 0..<4 { sum += K[i] / pow(Double(n), Double(i) / 2) }
        return sum
    }
}
