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

    /// A dense sketch built from the same registers: the reference the sparse form must equal.
    private func denseCopy(_ h: HyperLogLog) -> HyperLogLog {
        var d = h
        if d.isSparse { d.promote() }
        return d
    }

    @Test func sparseUntilItsLimitThenDenseWithTheSameEstimates() throws {
        for p in [4, 8, 12, 14] {
            var h = try HyperLogLog(precision: p)
            #expect(h.isSparse && h.storageBytes == 0)
            var i: Int64 = 0
            while h.isSparse {
                h.insert(i); i += 1
                let d = denseCopy(h)
                #expect(!d.isSparse && d == h)
                #expect(h.estimate == d.estimate, "p \(p), \(i) values: sparse \(h.estimate) dense \(d.estimate)")
                if i > Int64(4 * h.registerCount) { break }
            }
            #expect(!h.isSparse, "p \(p) promotes")
            #expect(i >= Int64(h.sparseLimit), "p \(p) stays sparse for at least its limit: \(i) < \(h.sparseLimit)")
            #expect(h.storageBytes == h.registerCount)
            let before = h.estimate
            h.reset()
            #expect(!h.isSparse && h.isEmpty && h.estimate == 0 && before > 0, "reset keeps the dense form")
            h.clear()
            #expect(h.isSparse && h.storageBytes == 0 && h.isEmpty)
        }
    }

    @Test func aFewValuesCostAFewBytes() throws {
        var h = try HyperLogLog(precision: 12)
        for v in [1.0, 2.0, 3.0, 2.0, 1.0] { h.insert(v) }
        #expect(h.isSparse && h.storageBytes <= 32, "\(h.storageBytes) bytes for 3 values")
        #expect(abs(h.estimate - 3) < 0.01)
    }

    @Test(arguments: [(UInt64(1), 6), (2, 14), (3, 12)])
    func mergesAcrossFormsEqualTheDenseMerge(seed: UInt64, precision: Int) throws {
        var g = SeededGenerator(seed: seed)
        let m = 1 << precision
        // sizes around the sparse limit and beyond, so every pair of forms meets
        for (na, nb) in [(3, 5), (m / 20, m / 20), (m / 10, 2), (2, m), (m, m / 40)] {
            var a = try HyperLogLog(precision: precision), b = try HyperLogLog(precision: precision)
            for _ in 0..<na { a.insert(hash: g.next()) }
            for _ in 0..<nb { b.insert(hash: g.next()) }
            var want = denseCopy(a)
            try want.merge(denseCopy(b))
            var got = a
            try got.merge(b)
            #expect(got == want && got.denseRegisters == want.denseRegisters && got.estimate == want.estimate,
                    "p \(precision): \(na) ∪ \(nb)")
        }
    }

    @Test func bothFormsRoundTripAndVersionOneIsStillRead() throws {
        var sparse = try HyperLogLog(precision: 10)
        for i in 0..<20 { sparse.insert(Int64(i)) }
        var dense = try HyperLogLog(precision: 10)
        for i in 0..<5000 { dense.insert(Int64(i)) }
        #expect(sparse.isSparse && !dense.isSparse)
        for h in [sparse, dense] {
            let r = try HyperLogLog(serialized: h.serialized())
            #expect(r == h && r.isSparse == h.isSparse && r.estimate == h.estimate)
        }
        // version 1 (always dense), as written before the sparse form existed
        var w = ByteWriter()
        w.writeHeader(tag: "WHLL", version: 1)
        w.write(UInt8(10))
        w.writeBytes(sparse.denseRegisters)
        let v1 = try HyperLogLog(serialized: w.bytes)
        #expect(v1 == sparse && v1.estimate == sparse.estimate && !v1.isSparse)
        // a sparse list out of order, or longer than the limit, is refused
        var bad = ByteWriter()
        bad.writeHeader(tag: "WHLL", version: 2)
        bad.write(UInt8(10)); bad.write(UInt8(0)); bad.write(UInt32(2))
        bad.write(UInt32(5 << 8 | 1)); bad.write(UInt32(3 << 8 | 1))
        #expect(throws: SerializationError.self) { _ = try HyperLogLog(serialized: bad.bytes) }
        var long = ByteWriter()
        long.writeHeader(tag: "WHLL", version: 2)
        long.write(UInt8(10)); long.write(UInt8(0)); long.write(UInt32(sparse.sparseLimit + 1))
        #expect(throws: SerializationError.self) { _ = try HyperLogLog(serialized: long.bytes) }
    }

    @Test func stringHashIsStable() {
        #expect(StatsHash.hash("abc") == StatsHash.hash("ab" + "c"))
        #expect(StatsHash.hash("abc") != StatsHash.hash("abd"))
        #expect(StatsHash.hash("abcdefghij") != StatsHash.hash("abcdefghik"))
    }
}
