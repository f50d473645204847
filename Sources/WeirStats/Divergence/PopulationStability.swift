#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Population Stability Index over binned counts.
///
/// `PSI = Σ_i (q_i − p_i) · ln(q_i / p_i)` where `p_i`, `q_i` are the reference and current
/// shares of bin `i`, and a share of exactly 0 becomes `floor` (default 1e-4, without
/// renormalising) — the definition of `shared/vectors/README.md`. Always finite and ≥ 0.
public enum PopulationStability {
    /// The default share used for empty bins.
    public static let defaultFloor = 1e-4

    /// PSI from per-bin counts (same length, non-negative, both totals > 0).
    /// - Throws: ``StatsError/emptySample(which:)`` when a total is 0;
    ///   ``StatsError/mismatchedConfiguration(detail:)`` when lengths differ;
    ///   ``StatsError/invalidParameter(name:detail:)`` for a negative count or a floor outside (0, 1).
    /// - Complexity: O(bins), no allocation.
    public static func psi(referenceCounts: UnsafeBufferPointer<Int>, currentCounts: UnsafeBufferPointer<Int>,
                           floor: Double = defaultFloor) throws(StatsError) -> Double {
        guard floor > 0, floor < 1 else { throw .invalidParameter(name: "floor", detail: "\(floor) not in (0, 1)") }
        guard referenceCounts.count == currentCounts.count else {
            throw .mismatchedConfiguration(detail: "PSI bins \(referenceCounts.count) vs \(currentCounts.count)")
        }
        var nr = 0, nc = 0
        for c in referenceCounts { if c < 0 { throw .invalidParameter(name: "referenceCounts", detail: "negative count \(c)") }; nr += c }
        for c in currentCounts { if c < 0 { throw .invalidParameter(name: "currentCounts", detail: "negative count \(c)") }; nc += c }
        guard nr > 0 else { throw .emptySample(which: "reference") }
        guard nc > 0 else { throw .emptySample(which: "current") }
        var s = 0.0
        for i in 0..<referenceCounts.count {
            var p = Double(referenceCounts[i]) / Double(nr)
            var q = Double(currentCounts[i]) / Double(nc)
            if p == 0 { p = floor }
            if q == 0 { q = floor }
            s += (q - p) * log(q / p)
        }
        return s
    }

    /// PSI from count arrays.
    public static func psi(referenceCounts: [Int], currentCounts: [Int], floor: Double = defaultFloor) throws(StatsError) -> Double {
        let r: Result<Double, StatsError> = referenceCounts.withUnsafeBufferPointer { a in
            currentCounts.withUnsafeBufferPointer { b in
                Result { () throws(StatsError) -> Double in try psi(referenceCounts: a, currentCounts: b, floor: floor) }
            }
        }
        return try r.get()
    }
}
