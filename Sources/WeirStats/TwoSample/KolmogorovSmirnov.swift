#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How the two-sample KS p-value is computed (the `method` of `scipy.stats.ks_2samp`).
public enum KSMethod: String, Sendable, Equatable, CaseIterable {
    /// Exact when both samples have at most 10,000 values, else asymptotic (scipy's default).
    case auto
    /// Exact lattice-path count (Hodges; Viehmann's stable recursion); falls back to
    /// asymptotic when the computation cannot be done in floating point, as scipy does.
    case exact
    /// `kstwo.sf(D, round(n·m/(n+m)))`.
    case asymptotic
}

/// Result of a two-sided two-sample Kolmogorov–Smirnov test.
public struct KSResult: Sendable, Equatable {
    /// `D = sup |F_a(x) − F_b(x)|` (for the exact method, `round(D·lcm)/lcm` as scipy returns it).
    public let statistic: Double
    /// Two-sided p-value in [0, 1].
    public let pvalue: Double
    /// The method actually used (``KSMethod/exact`` or ``KSMethod/asymptotic``).
    public let method: KSMethod
}

/// Two-sample Kolmogorov–Smirnov test, two-sided, numerically matching `scipy.stats.ks_2samp`.
public enum KolmogorovSmirnov {
    /// Largest sample size for which ``KSMethod/auto`` uses the exact method.
    public static let maxAutoExactN = 10_000

    /// The KS statistic `D` of two ascending-sorted, non-empty, NaN-free samples.
    ///
    /// When one sample is at least 8 times the size of the other (a drift window against a large
    /// reference), the larger one is searched (galloping) instead of walked: the extremes of
    /// `F_a − F_b` lie at the smaller sample's values and just below them, so only those points
    /// are evaluated; the result is bit-for-bit the merge walk's (same counts, same arithmetic).
    /// - Complexity: O(n + m) for similar sizes (one merge walk); O(n · log(m / n)) when
    ///   n ≪ m. No allocation.
    public static func statistic(sortedA a: UnsafeBufferPointer<Double>, sortedB b: UnsafeBufferPointer<Double>) -> Double {
        let n1 = a.count, n2 = b.count
        guard n1 > 0, n2 > 0 else { return 0 }
        if n2 >= 8 * n1 { return gallopingStatistic(small: a, large: b) }
        if n1 >= 8 * n2 { return gallopingStatistic(small: b, large: a) }
        return mergeStatistic(sortedA: a, sortedB: b)
    }

    /// The merge walk: evaluates `F_a − F_b` at every distinct value of the union.
    static func mergeStatistic(sortedA a: UnsafeBufferPointer<Double>, sortedB b: UnsafeBufferPointer<Double>) -> Double {
        let n1 = a.count, n2 = b.count
        let d1 = Double(n1), d2 = Double(n2)
        var i = 0, j = 0
        var maxS = -Double.infinity, minS = Double.infinity
        while i < n1 || j < n2 {
            // next distinct value in the merged order
            let v: Double
            if j >= n2 || (i < n1 && a[i] <= b[j]) { v = a[i] } else { v = b[j] }
            while i < n1 && a[i] <= v { i += 1 }
            while j < n2 && b[j] <= v { j += 1 }
            let diff = Double(i) / d1 - Double(j) / d2
            if diff > maxS { maxS = diff }
            if diff < minS { minS = diff }
        }
        return Swift.max(maxS, Swift.min(1, Swift.max(0, -minS)))
    }

    /// `D` evaluated at the points where `F_small − F_large` can be extreme: each distinct value
    /// of `small` (counts ≤ it) and the largest `large` value below each (counts < the next
    /// distinct value). Between them `F_small` is flat and `F_large` rises, so every other point
    /// lies between those two. The counts in `large` come from galloping from the last position.
    static func gallopingStatistic(small a: UnsafeBufferPointer<Double>, large b: UnsafeBufferPointer<Double>) -> Double {
        let n1 = a.count, n2 = b.count
        let d1 = Double(n1), d2 = Double(n2)
        // First index in b at or after `from` whose value is not accepted by `before` (b is sorted).
        @inline(__always) func advance(_ from: Int, while before: (Double) -> Bool) -> Int {
            var lo = from
            guard lo < n2, before(b[lo]) else { return lo }
            var step = 1
            var hi = lo + 1
            while hi < n2 && before(b[hi]) { lo = hi; step &*= 2; hi = lo + step }
            if hi > n2 { hi = n2 }
            // b[lo] accepted, b[hi] (if any) not: binary search in (lo, hi].
            var l = lo + 1, h = hi
            while l < h { let m = (l + h) >> 1; if before(b[m]) { l = m + 1 } else { h = m } }
            return l
        }
        var maxS = -Double.infinity, minS = Double.infinity
        @inline(__always) func consider(_ i: Int, _ j: Int) {
            let diff = Double(i) / d1 - Double(j) / d2
            if diff > maxS { maxS = diff }
            if diff < minS { minS = diff }
        }
        var i = 0
        // Below the first value of `small`: i = 0, j = count of b < a[0].
        var j = advance(0) { $0 < a[0] }
        consider(0, j)
        while i < n1 {
            let v = a[i]
            while i < n1 && a[i] <= v { i += 1 }
            j = advance(j) { $0 <= v }
            consider(i, j)
            if i < n1 {
                let next = a[i]
                j = advance(j) { $0 < next }
                consider(i, j)
            } else {
                consider(n1, n2)
            }
        }
        // The merge walk ends with F_a = F_b = 1 (difference 0); so does this.
        return Swift.max(maxS, Swift.min(1, Swift.max(0, -minS)))
    }

    /// Two-sided test on ascending-sorted samples (NaN-free; the caller filters non-finite values).
    /// - Throws: ``StatsError/emptySample(which:)`` when either sample is empty.
    public static func test(sortedA a: UnsafeBufferPointer<Double>, sortedB b: UnsafeBufferPointer<Double>,
                            method: KSMethod = .auto) throws(StatsError) -> KSResult {
        guard a.count > 0 else { throw .emptySample(which: "A") }
        guard b.count > 0 else { throw .emptySample(which: "B") }
        return test(statistic: statistic(sortedA: a, sortedB: b), n1: a.count, n2: b.count, method: method)
    }

    /// Two-sided test on ascending-sorted arrays.
    public static func test(sortedA a: [Double], sortedB b: [Double], method: KSMethod = .auto) throws(StatsError) -> KSResult {
        let r: Result<KSResult, StatsError> = a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                Result { () throws(StatsError) -> KSResult in try test(sortedA: pa, sortedB: pb, method: method) }
            }
        }
        return try r.get()
    }

    /// The p-value for statistic `d` of samples of sizes `n1`, `n2` (both > 0).
    /// `d0` is clamped to [0, 1] (NaN counts as 0); non-positive sizes give p = 1.
    public static func test(statistic d0: Double, n1: Int, n2: Int, method: KSMethod = .auto) -> KSResult {
        var d = d0.isNaN ? 0 : Swift.min(1, Swift.max(0, d0))
        guard n1 > 0, n2 > 0 else {
            return KSResult(statistic: d, pvalue: 1, method: method == .exact ? .exact : .asymptotic)
        }
        var mode = method
        if mode == .auto { mode = Swift.max(n1, n2) <= maxAutoExactN ? .exact : .asymptotic }
        let g = gcd(n1, n2)
        let n1g = n1 / g, n2g = n2 / g
        if mode == .exact && n1g >= Int(Int32.max) / n2g { mode = .asymptotic }
        if mode == .exact {
            let lcm = n1g * n2
            let h = Int((d * Double(lcm)).rounded(.toNearestOrEven))
            d = Double(h) / Double(lcm)
            if h == 0 { return KSResult(statistic: d, pvalue: 1, method: .exact) }
            let p = n1 == n2 ? probOutsideSquare(n: n1, h: h) : outerProbInside(m: n1, n: n2, g: g, h: h)
            if p.isFinite && p >= 0 && p <= 1 { return KSResult(statistic: d, pvalue: p, method: .exact) }
        }
        let m = Double(Swift.max(n1, n2)), n = Double(Swift.min(n1, n2))
        let en = (m * n / (m + n)).rounded(.toNearestOrEven)
        let p = KolmogorovDistribution.sf(d, n: Int(en))
        return KSResult(statistic: d, pvalue: Swift.min(1, Swift.max(0, p)), method: .asymptotic)
    }

    static func gcd(_ a: Int, _ b: Int) -> Int {
        var x = a, y = b
        while y != 0 { (x, y) = (y, x % y) }
        return x
    }

    /// `P(D_{n,n} >= h/n)`: Horner-like evaluation of the alternating binomial series.
    static func probOutsideSquare(n: Int, h: Int) -> Double {
        var P = 0.0
        var k = n / h
        while k >= 0 {
            var p1 = 1.0
            for j in 0..<h {
                p1 = Double(n - k * h - j) * p1 / Double(n + k * h + j + 1)
            }
            P = p1 * (1 - P)
            k -= 1
        }
        return 2 * P
    }

    /// Share of lattice paths from (0,0) to (m,n) that leave the band `|x/m − y/n| < h/lcm`,
    /// by Viehmann's (2021) recursion for 1 − p inside Hodges' "inside method".
    /// - Complexity: O(m · band width) time, O(min(n, band)) memory.
    static func outerProbInside(m m0: Int, n n0: Int, g: Int, h: Int) -> Double {
        let m = Swift.max(m0, n0), n = Swift.min(m0, n0)
        let mg = m / g, ng = n / g
        func floorDiv(_ a: Int, _ b: Int) -> Int { a >= 0 ? a / b : -((-a + b - 1) / b) }
        func ceilDiv(_ a: Int, _ b: Int) -> Int { a >= 0 ? (a + b - 1) / b : -((-a) / b) }
        var minj = 0
        var maxj = Swift.min(ceilDiv(h, mg), n + 1)
        var curlen = maxj - minj
        let lenA = Swift.min(2 * maxj + 2, n + 1)
        var A = [Double](repeating: 1, count: lenA)
        for q in minj..<maxj where q < lenA { A[q] = 0 }
        let done: Bool = A.withUnsafeMutableBufferPointer { a in
            for i in 1...m {
                let lastminj = minj, lastlen = curlen
                minj = Swift.min(Swift.max(floorDiv(ng * i - h, mg) + 1, 0), n)
                maxj = Swift.min(ceilDiv(ng * i + h, mg), n + 1)
                if maxj <= minj { return true }
                var val = minj == 0 ? 0.0 : 1.0
                let di = Double(i)
                let shift = minj - lastminj
                var dj = Double(minj)
                for jj in 0..<(maxj - minj) {
                    // same operations and order as scipy (bit-identical results)
                    val = (a[jj + shift] * di + val * dj) / (di + dj)
                    a[jj] = val
                    dj += 1
                }
                curlen = maxj - minj
                if lastlen > curlen {
                    for q in (maxj - minj)..<Swift.min(maxj - minj + (lastlen - curlen), lenA) { a[q] = 1 }
                }
            }
            return false
        }
        if done { return 1 }
        return A[maxj - minj - 1]
    }
}
