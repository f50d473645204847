import Testing
@testable import WeirStats

/// Corrupted and truncated snapshots give typed errors (or a usable value), never a crash.
@Suite struct SnapshotFuzzTests {
    func fuzz<T: ByteSerializable>(_ value: T, _ exercise: (inout T) -> Void) {
        let bytes = value.serialized()
        var g = SplitMix64(seed: UInt64(bytes.count))
        for cut in stride(from: 0, to: bytes.count, by: max(1, bytes.count / 200)) {
            #expect(throws: SerializationError.self) { _ = try T(serialized: Array(bytes.prefix(cut))) }
        }
        for _ in 0..<300 {
            var b = bytes
            for _ in 0..<3 {
                let i = Int(g.next(below: UInt64(b.count)))
                b[i] = UInt8(truncatingIfNeeded: g.next())
            }
            if var v = try? T(serialized: b) { exercise(&v) }
        }
    }

    @Test func everySnapshotTypeSurvivesCorruption() throws {
        var kll = try KLLSketch(k: 16)
        for i in 0..<500 { kll.insert(Double(i)) }
        fuzz(kll) { s in for i in 0..<100 { s.insert(Double(i)) }; _ = s.quantile(0.5); _ = s.rank(3) }
        var hll = try HyperLogLog(precision: 6)
        for i in 0..<100 { hll.insert(Int64(i)) }
        fuzz(hll) { s in s.insert(Int64(5)); _ = s.estimate }
        var ss = try SpaceSaving(capacity: 8)
        for i in 0..<100 { ss.insert(Int32(i % 13)) }
        fuzz(ss) { s in for i in 0..<50 { s.insert(Int32(i)) }; _ = s.top(3) }
        var ad = try ADWIN()
        for i in 0..<300 { ad.update(Double(i % 7)) }
        fuzz(ad) { s in for i in 0..<100 { s.update(Double(i)) }; _ = s.width; _ = s.variance }
        var ph = try PageHinkley()
        for i in 0..<100 { ph.update(Double(i % 3)) }
        fuzz(ph) { s in for i in 0..<100 { s.update(Double(i)) }; _ = s.count }
        var rs = try ReservoirSample(capacity: 10)
        for i in 0..<40 { rs.add(Double(i)) }
        fuzz(rs) { s in for i in 0..<40 { s.add(Double(i)) } }
        fuzz(CategoryCounts(ids: [1, 2, 2, 900] as [Int32])) { s in s.add(3); _ = s.categories }
        var m = RunningMoments()
        for i in 0..<10 { m.add(Double(i)) }
        fuzz(m) { s in s.add(1); _ = s.variance }
    }
}
