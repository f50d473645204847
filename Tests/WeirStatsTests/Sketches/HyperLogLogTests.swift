import Testing
import WeirTestSupport
@testable import WeirStats

@Suite struct HyperLogLogTests {
    @Test func millionDistinctWithinThreeStandardErrors() throws {
        var h = try HyperLogLog()
        let n = 1_000_000
        for i in 0..<n { h.insert(Int64(i)) }
        let rel = abs(h.estimate - Double(n)) / Double(n)
        #expect(rel < 3 * h.relativeStandardError, "relative error \(rel)")
    }

    /// Around 2.5·m, where the classic estimator switches from linear counting and is biased
    /// (+1.8% at p = 14), the estimate stays unbiased.
    @Test func midRangeIsUnbiased() throws {
        let n = 41_000
        var sum = 0.0
        for seed in 0..<10 {
            var h = try HyperLogLog()
            for i in 0..<n { h.insert(Int64(i) &+ Int64(seed) &* 10_000_000_000) }
            let rel = (h.estimate - Double(n)) / Double(n)
            #expect(abs(rel) < 3 * h.relativeStandardError, "seed \(seed): \(rel)")
            sum += rel
        }
        #expect(abs(sum / 10) < 0.008, "mean relative error \(sum / 10)")
    }

    @Test func duplicatesDoNotCount() throws {
        var h = try HyperLogLog(precision: 12)
        for _ in 0..<50 { for i in 0..<10_000 { h.insert(Double(i) * 0.5) } }
        #expect(abs(h.estimate - 10_000) / 10_000 < 3 * h.relativeStandardError)
    }

    @Test func smallRangeIsNearExact() throws {
        var h = try HyperLogLog()
        #expect(h.estimate == 0)
        #expect(h.isEmpty)
        for i in 0..<100 { h.insert(Int64(i)) }
        #expect(abs(h.estimate - 100) < 2)
        h.insert(0.0); h.insert(-0.0)  // signed zeros hash alike
        var g = try HyperLogLog()
        g.insert(0.0)
        var g2 = try HyperLogLog()
        g2.insert(-0.0)
        #expect(g == g2)
    }

    @Test func mergeEqualsSketchOfUnion() throws {
        var a = try HyperLogLog(), b = try HyperLogLog(), u = try HyperLogLog()
        for i in 0..<600_000 { a.insert(Int64(i)); u.insert(Int64(i)) }
        for i in 400_000..<1_000_000 { b.insert(Int64(i)); u.insert(Int64(i)) }
        try a.merge(b)
        #expect(a == u)
        #expect(abs(a.estimate - 1e6) / 1e6 < 3 * a.relativeStandardError)
        #expect(throws: StatsError.self) { try a.merge(try HyperLogLog(precision: 10)) }
    }

    @Test func serializeRestoreContinue() throws {
        var a = try HyperLogLog(precision: 10)
        for i in 0..<5000 { a.insert(Int64(i)) }
        var b = try HyperLogLog(serialized: a.serialized())
        #expect(a == b)
        for i in 5000..<9000 { a.insert(Int64(i)); b.insert(Int64(i)) }
        #expect(a == b)
        var bytes = a.serialized()
        bytes[0] = UInt8(ascii: "X")
        #expect(throws: SerializationError.self) { _ = try HyperLogLog(serialized: bytes) }
        #expect(throws: SerializationError.self) { _ = try HyperLogLog(serialized: Array(a.serialized().dropLast())) }
        #expect(throws: StatsError.self) { _ = try HyperLogLog(precision: 3) }
    }

    @Test func stringHashIsStable() {
        #expect(StatsHash.hash("abc") == StatsHash.hash("ab" + "c"))
        #expect(StatsHash.hash("abc") != StatsHash.hash("abd"))
        #expect(StatsHash.hash("abcdefghij") != StatsHash.hash("abcdefghik"))
    }
}
