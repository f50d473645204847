import Testing
@testable import WeirCore

/// Windows of many keys that close at the same time (every key's tumbling window, every key's
/// pane of one hop) are freed over a quarter of a slide of event time, not in one watermark
/// step; a window kept past its lateness is never read again: events for it are late and
/// features merge only the panes of windows in range.
@Suite struct PurgeSpreadTests {
    static let keys = 5000

    func makeGraph(outOfOrderness: Int64) throws -> StreamGraph {
        let schema = try Schema([.timestamp("ts"), .int("k")])
        return try StreamGraph(GraphSpec(
            schema: schema,
            time: .eventTime(field: "ts", watermark: WatermarkConfig(outOfOrderness: outOfOrderness)),
            windows: [
                WindowSpec(name: "tumble", keyBy: "k", kind: .tumbling(size: 1000), aggregates: [.count()]),
                WindowSpec(name: "panes", keyBy: "k", kind: .hopping(size: 4000, hop: 1000), aggregates: [.count()]),
            ],
            features: [.window("panes", column: "count")]))
    }

    func event(_ g: inout StreamGraph, ts: Int64, key: Int) {
        g.process(Array("{\"ts\":\(ts),\"k\":\(key)}".utf8), partition: 0, offset: 0, now: 0)
    }

    /// One event of every key at 100 ms, then a marker key's event at `marker` (the watermark
    /// just past the windows' freeing time): how many of the keys' windows of `window` are still held.
    func lingering(_ g: inout StreamGraph, window w: Int, marker: Int64) -> Int {
        for k in 0..<Self.keys { event(&g, ts: 100, key: k) }
        #expect(g.windows[w].liveWindows == Self.keys)
        event(&g, ts: marker, key: -1)
        let held = g.windows[w].liveWindows - 1
        #expect(held > 0 && held < Self.keys, "\(held) of \(Self.keys) windows held one step past their freeing time")
        return held
    }

    @Test func tumblingWindowsClosingTogetherAreFreedOverAQuarterSlideAndLateEventsStayLate() throws {
        var g = try makeGraph(outOfOrderness: 0)
        let t = g.windowIndex("tumble")!
        // the watermark passes every window's end (999) by 1 ms: only some are freed yet
        let held = lingering(&g, window: t, marker: 1001)
        // an event for a window kept past its end is late, and does not touch it
        g.clearOutputs()
        event(&g, ts: 500, key: 7)
        #expect(g.outputs.late.count == 1)
        #expect(g.windows[t].liveWindows - 1 == held)
        // a quarter of the 1 s slide later every one is freed
        event(&g, ts: 1000 + 260, key: -1)
        #expect(g.windows[t].liveWindows == 1)  // the marker key's window [1000, 2000)
    }

    @Test func panesKeptPastTheirLastWindowAreNotMergedIntoFeatures() throws {
        var g = try makeGraph(outOfOrderness: 300)
        let p = g.windowIndex("panes")!
        // watermark 4000: the panes [0, 1000) ended with their last window [0, 4000) at 3999
        _ = lingering(&g, window: p, marker: 4300)
        // every key's next event counts only itself: its window [1000, 5000) holds no old pane
        var counts: Set<Double> = []
        for k in 0..<Self.keys {
            g.clearOutputs()
            event(&g, ts: 4200, key: k)
            counts.insert(g.outputs.features.values[0])
        }
        #expect(counts == [1])
        event(&g, ts: 4300 + 260, key: -1)
        #expect(g.windows[p].liveWindows == Self.keys + 1, "the old panes are all freed: one new pane per key and one for the marker")
    }
}
