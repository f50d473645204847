import Testing
import WeirTestSupport
@testable import WeirStats

/// A Zipf-like stream of ids with exact counts.
func zipfStream(_ n: Int, ids: Int, seed: UInt64) -> ([Int32], [Int32: Int]) {
    var rng = SeededGenerator(seed: seed)
    var out = [Int32](), exact = [Int32: Int]()
    out.reserveCapacity(n)
    for _ in 0..<n {
        let u = Double.random(in: 0..<1, using: &rng)
        let id = Int32(Double(ids) * u * u * u)  // skewed toward small ids
        out.append(id)
        exact[id, default: 0] += 1
    }
    return (out, exact)
}

func checkBounds(_ s: SpaceSaving, _ exact: [Int32: Int]) {
    let total = exact.values.reduce(0, +)
    #expect(s.total == total)
    let allowed = total / s.capacity
    for item in s.top(s.capacity) {
        let t = exact[item.id] ?? 0
        #expect(item.guaranteedCount <= t && t <= item.count, "id \(item.id): \(item) true \(t)")
        #expect(item.error <= allowed)
    }
    for (id, c) in exact where c > allowed {
        #expect(s.item(id) != nil, "heavy id \(id) (\(c)) not tracked")
    }
}

@Suite struct SpaceSavingTests {
    @Test func boundsHoldOnSkewedStream() throws {
        let (stream, exact) = zipfStream(200_000, ids: 5000, seed: 4)
        var s = try SpaceSaving(capacity: 64)
        for id in stream { s.insert(id) }
        checkBounds(s, exact)
        let top = s.top(3)
        #expect(top.count == 3 && top[0].count >= top[1].count)
        // the true top id is the reported top id
        let trueTop = exact.max { $0.value < $1.value }!.key
        #expect(top[0].id == trueTop)
    }

    @Test func exactWhenFewIds() throws {
        var s = try SpaceSaving(capacity: 10)
        for i in 0..<1000 { s.insert(Int32(i % 7), weight: 2) }
        for item in s.top(10) { #expect(item.error == 0) }
        #expect(s.item(3)?.count == 2 * (1000 / 7 + (3 < 1000 % 7 ? 1 : 0)))
        #expect(s.errorBound == 0)
        s.insert(1, weight: 0)
        #expect(s.total == 2000)
    }

    @Test func mergeKeepsBounds() throws {
        let (s1, e1) = zipfStream(100_000, ids: 3000, seed: 8)
        let (s2, e2) = zipfStream(150_000, ids: 3000, seed: 9)
        var a = try SpaceSaving(capacity: 50), b = try SpaceSaving(capacity: 50)
        for id in s1 { a.insert(id) }
        for id in s2 { b.insert(id) }
        try a.merge(b)
        checkBounds(a, e1.merging(e2, uniquingKeysWith: +))
        #expect(throws: StatsError.self) { try a.merge(try SpaceSaving(capacity: 5)) }
    }

    @Test func serializeRestoreContinue() throws {
        let (stream, _) = zipfStream(50_000, ids: 1000, seed: 2)
        var a = try SpaceSaving(capacity: 20)
        for id in stream.prefix(20_000) { a.insert(id) }
        var b = try SpaceSaving(serialized: a.serialized())
        #expect(a == b)
        for id in stream.dropFirst(20_000) { a.insert(id); b.insert(id) }
        #expect(a == b)
        #expect(throws: StatsError.self) { _ = try SpaceSaving(capacity: 0) }
    }

    /// The id → slot table agrees with a Dictionary under random inserts, updates and removals,
    /// growing from 8 cells as ids arrive (and never past half full).
    @Test func idSlotTableMatchesDictionary() {
        var g = SplitMix64(seed: 12)
        var table = IdSlotTable()
        var oracle = [Int32: Int]()
        for step in 0..<50_000 {
            // ids drawn from a small range plus multiples of the table size, to force collisions
            let id = Int32(truncatingIfNeeded: Int(g.next(below: 200)) * (step % 3 == 0 ? 128 : 1) - 50)
            if g.next(below: 3) == 0 {
                table.remove(id); oracle[id] = nil
            } else if oracle[id] != nil || oracle.count < 64 {
                let v = Int(g.next(below: 64))
                table.set(id, v); oracle[id] = v
            }
            #expect(table.count == oracle.count && 2 * table.count <= table.keys.count)
            if step % 991 == 0 || step == 49_999 {
                for probe in -60..<25_700 where probe % 7 == 0 || oracle[Int32(probe)] != nil {
                    #expect(table.get(Int32(probe)) == oracle[Int32(probe)], "step \(step) id \(probe)")
                }
            }
        }
    }

    /// A summary of a few ids holds a few counters, not `capacity` of them; it grows to track
    /// up to `capacity` ids with the same answers as before.
    @Test func storageGrowsWithTheIdsTracked() throws {
        var s = try SpaceSaving(capacity: 1_000)
        #expect(s.storageBytes <= 64)
        for id in [3, 3, 5] as [Int32] { s.insert(id) }
        #expect(s.storageBytes < 200, "\(s.storageBytes) bytes for 2 ids")
        #expect(s.top(2).map(\.id) == [3, 5] && s.top(2).map(\.count) == [2, 1])
        var g = SplitMix64(seed: 4)
        var exact = [Int32: Int]()
        for _ in 0..<20_000 {
            let id = Int32(g.next(below: 900))
            s.insert(id); exact[id, default: 0] += 1
        }
        exact[3, default: 0] += 2; exact[5, default: 0] += 1
        // 900 + 2 ids fit in 1,000 counters: every count is exact
        #expect(s.errorBound == 0 && s.trackedCount == exact.count)
        for (id, c) in exact { #expect(s.item(id)?.count == c, "id \(id)") }
        #expect(s.storageBytes >= 20 * exact.count)
    }
}
