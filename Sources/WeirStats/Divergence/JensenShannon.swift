#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Logarithm base for information measures.
public enum LogBase: String, Sendable, Equatable {
    /// Natural log (scipy's default; JS distance in [0, √ln2 ≈ 0.833]). Evidently's convention.
    case natural
    /// Base 2 (JS distance in [0, 1]). NannyML's convention.
    case two
}

/// Jensen–Shannon distance between two count vectors, as `scipy.spatial.distance.jensenshannon`.
///
/// Counts are normalised to shares **without** any floor; `0·log 0 = 0`. The result is
/// `sqrt((KL(p‖m) + KL(q‖m)) / 2)` with `m = (p+q)/2`, in [0, √ln2] (natural) or [0, 1] (base 2).
/// Tiny negative rounding in the sum is clamped to 0, so the result is never NaN.
public enum JensenShannon {
    /// - Throws: ``StatsError/emptySample(which:)`` when a total is 0;
    ///   ``StatsError/mismatchedConfiguration(detail:)`` when lengths differ.
    /// - Complexity: O(bins), no allocation.
    public static func distance(_ pCounts: UnsafeBufferPointer<Int>, _ qCounts: UnsafeBufferPointer<Int>,
                                base: LogBase = .natural) throws(StatsError) -> Double {
        guard pCounts.count == qCounts.count else {
            throw .mismatchedConfiguration(detail: "JS bins \(pCounts.count) vs \(qCounts.count)")
        }
        var np = 0, nq = 0
        for c in pCounts { if c < 0 { throw .invalidParameter(name: "pCounts", detail: "negative count \(c)") }; np += c }
        for c in qCounts { if c < 0 { throw .invalidParameter(name: "qCounts", detail: "negative count \(c)") }; nq += c }
        guard np > 0 else { throw .emptySample(which: "reference") }
        guard nq > 0 else { throw .emptySample(which: "current") }
        var left = 0.0, right = 0.0
        for i in 0..<pCounts.count {
            let p = Double(pCounts[i]) / Double(np)
            let q = Double(qCounts[i]) / Double(nq)
            let m = (p + q) / 2.0
            if p > 0 { left += p * log(p / m) }
            if q > 0 { right += q * log(q / m) }
        }
        var js = left + right
        if base == .two { js /= log(2.0) }
        return (Swift.max(0, js) / 2.0).squareRoot()
    }

    /// JS distance from count arrays.
    public static func distance(_ p: [Int], _ q: [Int], base: LogBase = .natural) throws(StatsError) -> Double {
        let r: Result<Double, StatsError> = p.withUnsafeBufferPointer { a in
            q.withUnsafeBufferPointer { b in
                Result { () throws(StatsError) -> Double in try distance(a, b, base: base) }
            }
        }
        return try r.get()
    }
}
