import Testing
@testable import WeirCore
import WeirTestSupport

/// Hopping windows kept as panes link each key's panes in ascending start order, so an event's
/// pane is found by searching back from the newest pane only as far as the first older one.
/// Out-of-order events insert panes in the middle; state restored from a Weir that linked panes
/// in arrival order is sorted before the next event, and that sort is journaled.
@Suite struct PaneOrderTests {
    static let schema = try! Schema([.timestamp("ts"), .int("k"), .double("v")])

    /// `panes` (count, sum: mergeable, so kept as panes) and `aligned` (the same windows plus an
    /// EWMA, which is not mergeable: one entry per window, no panes).
    func makeGraph() throws -> StreamGraph {
        try StreamGraph(GraphSpec(
            schema: Self.schema,
            time: .eventTime(field: "ts", watermark: WatermarkConfig(outOfOrderness: 50)),
            windows: [
                WindowSpec(name: "panes", keyBy: "k", kind: .hopping(size: 400, hop: 100), allowedLateness: 300,
                           aggregates: [.count(), .sum("v")]),
                WindowSpec(name: "aligned", keyBy: "k", kind: .hopping(size: 400, hop: 100), allowedLateness: 300,
                           aggregates: [.count(), .sum("v"), .ewma("v", alpha: 0.5)]),
            ]))
    }

    /// Events up to 350 ms out of order (beyond the 50 ms bound, within the lateness), 5 keys,
    /// integer values (sums are exact in any order).
    func events(seed: UInt64, count: Int, from first: Int = 0) -> [[UInt8]] {
        var g = SeededGenerator(seed: seed)
        return (first..<(first + count)).map { i in
            let ts = 10_000 + Int64(i) * 7 - Int64.random(in: 0...350, using: &g)
            let k = Int.random(in: 0..<5, using: &g)
            return Array("{\"ts\":\(ts),\"k\":\(k),\"v\":\(Int.random(in: 0...99, using: &g))}".utf8)
        }
    }

    /// Each window result of operator `name`: key, bounds, kind, count and sum.
    struct Result: Hashable, Comparable {
        var key: [UInt8], start: Int64, end: Int64, kind: UInt8, count: Double, sum: Double
        static func < (a: Result, b: Result) -> Bool {
            let (x, y) = ((a.start, a.end, a.kind, a.count, a.sum), (b.start, b.end, b.kind, b.count, b.sum))
            return x != y ? x < y : a.key.lexicographicallyPrecedes(b.key)
        }
    }

    func results(_ g: StreamGraph, _ name: String) -> [Result] {
        let r = g.outputs.windowResults
        let w = g.windowIndex(name)!
        return (0..<r.count).filter { Int(r.window[$0]) == w }.map { i in
            let v = Array(r.values(i))
            return Result(key: Array(r.keyBytes(i)), start: r.start[i], end: r.end[i], kind: r.kind[i].rawValue, count: v[0], sum: v[1])
        }
    }

    /// Every key's panes, oldest first, as (entry, start).
    func paneLists(_ op: WindowOperator) -> [[(Int32, Int64)]] {
        (0..<op.keyHead.count).map { k in
            var list: [(Int32, Int64)] = []
            var e = op.keyHead[k]
            while e >= 0 && list.count <= op.ents.count { list.append((e, op.ents[Int(e)].start)); e = op.ents[Int(e)].next }
            return list
        }
    }

    func isSorted(_ op: WindowOperator) -> Bool {
        paneLists(op).allSatisfy { l in zip(l, l.dropFirst()).allSatisfy { $0.1 < $1.1 } }
    }

    @Test func outOfOrderPanesAreInsertedInStartOrderAndFireLikeWholeWindows() throws {
        var g = try makeGraph()
        let p = g.windowIndex("panes")!
        #expect(g.windows[p].usePanes && !g.windows[g.windowIndex("aligned")!].usePanes)
        var panes: [Result] = [], aligned: [Result] = []
        var insertedBehindNewest = 0
        for (i, e) in events(seed: 3, count: 3000).enumerated() {
            let before = paneLists(g.windows[p])
            g.process(e, partition: 0, offset: Int64(i), now: 0)
            let after = paneLists(g.windows[p])
            // a pane added behind the key's newest one: the out-of-order case
            for k in before.indices where after[k].count > before[k].count && !before[k].isEmpty && after[k].last! == before[k].last! {
                insertedBehindNewest += 1
            }
            #expect(isSorted(g.windows[p]), "event \(i): a key's panes are out of start order")
            panes += results(g, "panes")
            aligned += results(g, "aligned")
            g.clearOutputs()
        }
        g.tick(now: 1_000_000)
        g.flush()
        panes += results(g, "panes")
        aligned += results(g, "aligned")
        #expect(panes.count > 500 && panes.contains { $0.kind == ResultKind.lateUpdate.rawValue })
        #expect(insertedBehindNewest > 20, "only \(insertedBehindNewest) panes were added behind a newer one")
        #expect(panes.sorted() == aligned.sorted())
    }

    /// State written by a Weir that linked panes in arrival order (made here by reversing every
    /// key's list): restored, it is sorted before the next event, the run continues exactly like
    /// one from the sorted state, and an increment taken after the sort restores bit for bit.
    @Test func panesRestoredInArrivalOrderAreSortedBeforeTheNextEventAndTheSortIsJournaled() throws {
        var g = try makeGraph()
        let p = g.windowIndex("panes")!
        for (i, e) in events(seed: 5, count: 1500).enumerated() { g.process(e, partition: 0, offset: Int64(i), now: 0) }
        g.clearOutputs()
        let sorted = g.snapshot()
        // the same state with each key's panes linked newest first
        var reversed = 0
        for (k, list) in paneLists(g.windows[p]).enumerated() where list.count > 1 {
            let order = list.map(\.0).reversed().map { $0 }
            for (i, e) in order.enumerated() {
                g.windows[p].ents[Int(e)].prev = i > 0 ? order[i - 1] : -1
                g.windows[p].ents[Int(e)].next = i + 1 < order.count ? order[i + 1] : -1
            }
            g.windows[p].keyHead[k] = order.first!
            g.windows[p].keyTail[k] = order.last!
            reversed += 1
        }
        #expect(reversed >= 3 && !isSorted(g.windows[p]))
        let unsorted = g.snapshot()
        #expect(unsorted != sorted)

        var restored = try makeGraph()
        try restored.restore(unsorted)
        #expect(restored.windows[p].panesNeedSorting)
        var reference = try makeGraph()
        try reference.restore(sorted)
        #expect(!reference.windows[p].panesNeedSorting)
        restored.markCheckpointed()
        reference.markCheckpointed()
        var got: [Result] = [], expected: [Result] = []
        var firstIncrement: (bytes: [UInt8], state: [UInt8])?
        for (i, e) in events(seed: 6, count: 1500, from: 1500).enumerated() {
            restored.process(e, partition: 0, offset: Int64(1500 + i), now: 0)
            reference.process(e, partition: 0, offset: Int64(1500 + i), now: 0)
            got += results(restored, "panes")
            expected += results(reference, "panes")
            restored.clearOutputs()
            reference.clearOutputs()
            if i == 4 {  // an increment while the restored panes are still live
                firstIncrement = (restored.snapshotIncrement(), restored.snapshot())
                restored.markCheckpointed()
            }
        }
        #expect(!restored.windows[p].panesNeedSorting && isSorted(restored.windows[p]))
        #expect(expected.count > 100 && got == expected)
        #expect(restored.snapshot() == reference.snapshot(), "the sorted state equals the state that was never unsorted")
        // the sort is in the increments: the unsorted image plus them restores bit for bit
        var chained = try makeGraph()
        try chained.restore(unsorted)
        let first = try #require(firstIncrement)
        try chained.applyIncrement(first.bytes)
        #expect(chained.snapshot() == first.state, "the first increment after the sort")
        #expect(!chained.windows[p].panesNeedSorting)
        try chained.applyIncrement(restored.snapshotIncrement())
        #expect(chained.snapshot() == restored.snapshot())
        // and the sort matters: searched as if sorted, the arrival-order lists get duplicate panes
        var unsortedSearch = try makeGraph()
        try unsortedSearch.restore(unsorted)
        unsortedSearch.windows[p].panesNeedSorting = false
        var wrong: [Result] = []
        for (i, e) in events(seed: 6, count: 1500, from: 1500).enumerated() {
            unsortedSearch.process(e, partition: 0, offset: Int64(1500 + i), now: 0)
            wrong += results(unsortedSearch, "panes")
            unsortedSearch.clearOutputs()
        }
        #expect(wrong != expected)
    }
}
