import Foundation

/// Seeded SplitMix64 data for benchmarks: same seed, same values, every run.
public struct BenchRandom {
    public var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    public mutating func unit() -> Double { Double(next() >> 11) * 0x1p-53 }
    /// Standard normal (Box-Muller).
    public mutating func gaussian() -> Double {
        let u1 = max(unit(), 1e-300), u2 = unit()
        return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    }
}

/// Nanoseconds per item.
public func ns(_ seconds: Double, _ n: Int) -> Double { seconds / Double(n) * 1e9 }
/// Fixed-point text.
public func fmt(_ x: Double, _ digits: Int = 2) -> String { String(format: "%.\(digits)f", x) }
public func verdict(_ ok: Bool) -> String { ok ? "PASS" : "FAIL" }
/// An allocation count, or why there is none.
public func allocText(_ n: Int?) -> String { n.map { "\($0)" } ?? "n/a (run with LD_PRELOAD=…libMallocInterposerSwift.so)" }
