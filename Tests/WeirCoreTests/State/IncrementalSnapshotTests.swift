import Testing
import WeirCore
import WeirStats
import WeirTestSupport

/// Incremental snapshots: the full snapshot at a mark, then each increment after it applied in
/// order, restores exactly (bit for bit) the snapshot of the uninterrupted graph, at every
/// checkpoint of a run, and the restored graph continues with the same outputs.
@Suite struct IncrementalSnapshotTests {
    let base = SnapshotTests()

    /// One checkpoint of a run: full snapshot or increment, and the full snapshot at that point
    /// (the reference the chain must reproduce).
    struct Taken { var full: Bool; var bytes: [UInt8]; var expected: [UInt8]; var at: Int }

    /// Runs `ms`, taking a checkpoint every `step` messages (full every `fullEvery`-th) and one
    /// after the end-of-input flush. Returns the checkpoints and the uninterrupted trace.
    func runWithCheckpoints(_ ms: [(bytes: [UInt8], partition: Int32, now: Int64)], step: Int, fullEvery: Int) throws
        -> (taken: [Taken], trace: SnapshotTests.Trace) {
        var g = try base.makeGraph()
        var trace = SnapshotTests.Trace()
        var taken: [Taken] = []
        func checkpoint(at i: Int) {
            let full = taken.count % fullEvery == 0
            let bytes = full ? g.snapshot() : g.snapshotIncrement()
            taken.append(Taken(full: full, bytes: bytes, expected: g.snapshot(), at: i))
            g.markCheckpointed()
        }
        var i = 0
        while i < ms.count {
            let hi = min(ms.count, i + step)
            base.run(&g, ms[i..<hi], &trace)
            i = hi
            if i % (3 * step) == 0 { g.tick(now: ms[i - 1].now + 600); trace.add(g); g.clearOutputs() }  // idleness moves the watermark
            checkpoint(at: i)
        }
        g.tick(now: 10_000)
        g.flush()
        trace.add(g)
        g.clearOutputs()
        checkpoint(at: ms.count)
        return (taken, trace)
    }

    /// Restores checkpoint `k` of `taken` into a fresh graph: its newest full image at or before
    /// it, then the increments after that, in order.
    func restore(_ taken: [Taken], upTo k: Int) throws -> StreamGraph {
        var g = try base.makeGraph()
        let start = try #require((0...k).last { taken[$0].full })
        try g.restore(taken[start].bytes)
        for j in (start + 1)..<(k + 1) { try g.applyIncrement(taken[j].bytes) }
        return g
    }

    @Test(arguments: [(UInt64(1), 97, 4), (UInt64(2), 50, 3), (UInt64(3), 211, 1000), (UInt64(5), 13, 7)])
    func everyPrefixOfTheChainRestoresBitForBit(seed: UInt64, step: Int, fullEvery: Int) throws {
        let ms = base.messages(seed: seed, count: 2000)
        let (taken, _) = try runWithCheckpoints(ms, step: step, fullEvery: fullEvery)
        #expect(taken.contains { !$0.full } && taken.first!.full)
        for k in taken.indices {
            let g = try restore(taken, upTo: k)
            #expect(g.snapshot() == taken[k].expected, "checkpoint \(k) (after message \(taken[k].at)) differs after restore")
        }
    }

    @Test(arguments: [(UInt64(7), 61, 5, 9), (UInt64(8), 150, 10, 5)])
    func restoredChainContinuesLikeTheUninterruptedRun(seed: UInt64, step: Int, fullEvery: Int, cut: Int) throws {
        let ms = base.messages(seed: seed, count: 2000)
        let (taken, expected) = try runWithCheckpoints(ms, step: step, fullEvery: fullEvery)
        #expect(!taken[cut].full)
        var g = try restore(taken, upTo: cut)
        // the prefix's outputs come from the uninterrupted run, the rest from the restored graph
        var prefix = try base.makeGraph()
        var got = SnapshotTests.Trace()
        var i = 0
        while i < taken[cut].at {
            let hi = min(taken[cut].at, i + step)
            base.run(&prefix, ms[i..<hi], &got)
            i = hi
            if i % (3 * step) == 0 { prefix.tick(now: ms[i - 1].now + 600); got.add(prefix); prefix.clearOutputs() }
        }
        // the restored graph keeps taking increments on its restored base
        g.markCheckpointed()
        var incs: [(bytes: [UInt8], expected: [UInt8])] = []
        while i < ms.count {
            let hi = min(ms.count, i + step)
            base.run(&g, ms[i..<hi], &got)
            i = hi
            if i % (3 * step) == 0 { g.tick(now: ms[i - 1].now + 600); got.add(g); g.clearOutputs() }
            incs.append((g.snapshotIncrement(), g.snapshot()))
            g.markCheckpointed()
        }
        g.tick(now: 10_000)
        g.flush()
        got.add(g)
        #expect(got == expected)
        #expect(g.snapshot() == taken.last!.expected)
        // and those increments chain on the restored checkpoint as well
        var again = try restore(taken, upTo: cut)
        for (n, inc) in incs.enumerated() {
            try again.applyIncrement(inc.bytes)
            #expect(again.snapshot() == inc.expected, "increment \(n) after the restore")
        }
    }

    @Test func anIncrementCostsTheKeysTouchedNotTheState() throws {
        let schema = try Schema([.timestamp("ts"), .int("k"), .double("v")])
        var g = try StreamGraph(GraphSpec(schema: schema, time: .eventTime(field: "ts", watermark: WatermarkConfig(outOfOrderness: 0)),
                                          windows: [WindowSpec(name: "w", keyBy: "k", kind: .hopping(size: 3_600_000, hop: 300_000),
                                                               aggregates: [.count(), .sum("v"), .distinct("v", precision: 10)])]))
        for k in 0..<5000 { g.process(Array("{\"ts\":1000,\"k\":\(k),\"v\":\(k % 97)}".utf8), partition: 0, offset: Int64(k), now: 0) }
        g.clearOutputs()
        let full = g.snapshot()
        g.markCheckpointed()
        for k in 0..<20 { g.process(Array("{\"ts\":2000,\"k\":\(k * 7),\"v\":\(k)}".utf8), partition: 0, offset: Int64(k), now: 0) }
        g.clearOutputs()
        let inc = g.snapshotIncrement()
        // 20 of 5,000 keys touched: the increment holds their panes, not the state (which it restores exactly)
        #expect(inc.count * 50 < full.count, "increment \(inc.count) bytes, full \(full.count)")
        var r = try StreamGraph(GraphSpec(schema: schema, time: .eventTime(field: "ts", watermark: WatermarkConfig(outOfOrderness: 0)),
                                          windows: [WindowSpec(name: "w", keyBy: "k", kind: .hopping(size: 3_600_000, hop: 300_000),
                                                               aggregates: [.count(), .sum("v"), .distinct("v", precision: 10)])]))
        try r.restore(full)
        try r.applyIncrement(inc)
        #expect(r.snapshot() == g.snapshot())
    }

    @Test func damagedOrMisplacedIncrementsThrow() throws {
        let ms = base.messages(seed: 4, count: 600)
        let (taken, _) = try runWithCheckpoints(ms, step: 100, fullEvery: 100)
        var g = try base.makeGraph()
        try g.restore(taken[0].bytes)
        // an increment applied on the wrong base (skipping one) is refused or detected, not silently wrong
        var skipped = try base.makeGraph()
        try skipped.restore(taken[0].bytes)
        let applied: Bool = (try? skipped.applyIncrement(taken[2].bytes)) != nil
        if applied { #expect(skipped.snapshot() != taken[2].expected) }
        for cut in stride(from: 0, to: taken[1].bytes.count, by: max(1, taken[1].bytes.count / 40)) {
            var h = try base.makeGraph()
            try h.restore(taken[0].bytes)
            #expect(throws: SerializationError.self) { try h.applyIncrement(Array(taken[1].bytes[..<cut])) }
        }
        try g.applyIncrement(taken[1].bytes)
        #expect(g.snapshot() == taken[1].expected)
    }
}
