import Testing
import WeirStats
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The one SplitMix64: the reference stream, the mix that `StatsHash` and the label joiner use,
/// and the derived draws (unit, bounded, Gaussian) as functions of `next()`.
@Suite struct SplitMix64Tests {
    @Test func matchesTheReferenceStream() {
        // Steele, Lea and Flood's algorithm, seed 0 (the values every reference implementation prints).
        var g = SplitMix64(seed: 0)
        #expect(g.next() == 0xE220_A839_7B1D_CDAF)
        #expect(g.next() == 0x6E78_9E6A_A1B9_65F4)
        #expect(g.next() == 0x06C4_5D18_8009_454F)
        #expect(g.next() == 0xF88B_B8A8_724C_81EC)
    }

    @Test func mixIsTheFinaliserOfEachStep() {
        #expect(SplitMix64.mix(0) == 0)
        var g = SplitMix64(seed: 42)
        var state: UInt64 = 42
        for _ in 0..<1000 {
            state &+= SplitMix64.increment
            #expect(g.next() == SplitMix64.mix(state))
        }
        for x: UInt64 in [0, 1, 42, 0xDEAD_BEEF, .max] {
            var one = SplitMix64(seed: x)
            #expect(StatsHash.mix64(x) == one.next())
        }
    }

    @Test func derivedDrawsComeFromNext() {
        var a = SplitMix64(seed: 7), b = SplitMix64(seed: 7)
        for _ in 0..<10_000 {
            let u = a.nextUnit()
            #expect(u == Double(b.next() >> 11) * 0x1p-53)
            #expect(u >= 0 && u < 1)
            let k = a.next(below: 13)
            #expect(k == b.next().multipliedFullWidth(by: 13).high)
            #expect(k < 13)
            let z = a.nextGaussian()
            let u1 = max(b.nextUnit(), 1e-300), u2 = b.nextUnit()
            #expect(z == (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2))
        }
        #expect(a == b)
    }

    @Test func gaussianHasUnitMomentsAndTheGeneratorReplays() {
        var g = SplitMix64(seed: 11)
        let n = 200_000
        var sum = 0.0, sumSq = 0.0
        for _ in 0..<n { let z = g.nextGaussian(); sum += z; sumSq += z * z }
        let mean = sum / Double(n), variance = sumSq / Double(n) - mean * mean
        #expect(abs(mean) < 0.01)  // 4.5 standard errors
        #expect(abs(variance - 1) < 0.015)
        var x = SplitMix64(seed: 3), y = SplitMix64(seed: 3)
        #expect((0..<100).map { _ in Int.random(in: 0..<1000, using: &x) }
            == (0..<100).map { _ in Int.random(in: 0..<1000, using: &y) })
    }
}
