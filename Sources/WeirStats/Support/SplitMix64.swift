#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// SplitMix64 (Steele, Lea and Flood): Weir's one seeded random number generator and 64-bit mix.
///
/// A 64-bit state, one add and two multiply-xorshifts per value; same seed, same sequence on
/// every platform. Stored inside sketches and samplers so snapshots restore their randomness; the
/// source of `weir generate`, of the tests' and benchmarks' data. Not cryptographic.
public struct SplitMix64: RandomNumberGenerator, Sendable, Equatable {
    /// The state's step per value (2⁶⁴/φ, odd).
    public static let increment: UInt64 = 0x9E37_79B9_7F4A_7C15

    /// SplitMix64's finaliser: a bijective avalanche mix of `z` (0 maps to 0).
    @inlinable @inline(__always)
    public static func mix(_ z: UInt64) -> UInt64 {
        var z = z
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    @usableFromInline var state: UInt64
    @inlinable public init(seed: UInt64) { state = seed }

    @inlinable @inline(__always)
    public mutating func next() -> UInt64 {
        state &+= Self.increment
        return Self.mix(state)
    }
    /// Uniform in [0, 1) with 53 random bits (what `Double.random(in: 0..<1, using:)` draws).
    @inlinable @inline(__always)
    public mutating func nextUnit() -> Double { Double(next() >> 11) * 0x1.0p-53 }
    /// Uniform in 0..<bound (Lemire's multiply-shift; bias below 2^-64·bound, no division).
    @inlinable @inline(__always)
    public mutating func next(below bound: UInt64) -> UInt64 { next().multipliedFullWidth(by: bound).high }
    /// A standard normal variate (Box-Muller of two `nextUnit()`, the first clamped to 1e-300).
    @inlinable
    public mutating func nextGaussian() -> Double {
        let u1 = max(nextUnit(), 1e-300), u2 = nextUnit()
        return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    }
}
