import Testing
import WeirCore
import WeirStats
import WeirTestSupport

@Suite struct SnapshotTests {
    /// A graph with every window kind, sketches, an open category field and features.
    func makeGraph() throws -> StreamGraph {
        let schema = try Schema([.timestamp("ts"), .int("k"), .double("v"), .category("c", required: false)])
        let aggs: [AggregateSpec] = [.count(), .sum("v"), .mean("v"), .variance("v"), .min("v"), .max("v"), .first("v"), .last("v")]
        return try StreamGraph(GraphSpec(
            schema: schema,
            time: .eventTime(field: "ts", watermark: WatermarkConfig(outOfOrderness: 30, partitionCount: 2, idleTimeout: 500)),
            windows: [
                WindowSpec(name: "tumble", keyBy: "k", kind: .tumbling(size: 100), allowedLateness: 40,
                           aggregates: aggs + [.ewma("v", alpha: 0.2), .distinct("v", precision: 8), .quantile("v", 0.5, k: 16), .topK("c", k: 2)]),
                WindowSpec(name: "hop", keyBy: nil, kind: .hopping(size: 300, hop: 100), aggregates: aggs),
                WindowSpec(name: "slide", keyBy: "k", kind: .sliding(length: 80), allowedLateness: 10, aggregates: aggs),
                WindowSpec(name: "session", keyBy: "c", kind: .session(gap: 25), allowedLateness: 20,
                           aggregates: aggs + [.distinct("k", precision: 6)]),
                WindowSpec(name: "count", keyBy: "k", kind: .count(9), aggregates: aggs + [.quantile("v", 0.9, k: 8)]),
            ],
            features: [.log1p("v"), .window("tumble", column: "mean"), .window("slide", column: "count"),
                       .window("session", column: "count"), .oneHot("c", categories: ["a", "b"])]))
    }

    func messages(seed: UInt64, count: Int) -> [(bytes: [UInt8], partition: Int32, now: Int64)] {
        var g = SeededGenerator(seed: seed)
        let cats = ["a", "b", "c", "d", "e"]
        return (0..<count).map { i in
            let ts = 100_000 + Int64(i) * 3 - Int64.random(in: 0...80, using: &g)
            let k = Int.random(in: 0..<6, using: &g)
            let v = Double(Int.random(in: -500...5000, using: &g)) / 10
            var s = "{\"ts\":\(ts),\"k\":\(k),\"v\":\(v)"
            if Bool.random(using: &g) { s += ",\"c\":\"\(cats[Int.random(in: 0..<5, using: &g)])\"" }
            if i % 97 == 13 { s = "{\"ts\":\"bad\"}" }
            return (Array((s + "}").utf8), Int32(i % 2), Int64(i) * 2)
        }
    }

    /// All outputs of a run, flattened for exact comparison.
    struct Trace: Equatable {
        var results: [Double] = []
        var bounds: [Int64] = []
        var kinds: [UInt8] = []
        var keys: [UInt8] = []
        var late: [LateEvent] = []
        var features: [UInt64] = []
        var dead: [DeadLetter] = []

        mutating func add(_ g: StreamGraph) {
            let r = g.outputs.windowResults
            for i in 0..<r.count {
                results += r.values(i); bounds += [Int64(r.window[i]), r.start[i], r.end[i]]
                kinds.append(r.kind[i].rawValue); keys += r.keyBytes(i)
            }
            late += g.outputs.late
            features += g.outputs.features.values.map(\.bitPattern)
            dead += g.outputs.deadLetters
        }
    }

    func run(_ g: inout StreamGraph, _ ms: ArraySlice<(bytes: [UInt8], partition: Int32, now: Int64)>, _ t: inout Trace) {
        for (j, m) in zip(ms.indices, ms) {
            g.process(m.bytes, partition: m.partition, offset: Int64(j), now: m.now)
            t.add(g)
            g.clearOutputs()
        }
    }

    @Test(arguments: [(UInt64(1), 700), (UInt64(2), 1), (UInt64(3), 1500), (UInt64(4), 0)])
    func snapshotRestoreContinueEqualsUninterrupted(seed: UInt64, cut: Int) throws {
        let ms = messages(seed: seed, count: 2000)
        var whole = try makeGraph()
        var expected = Trace()
        run(&whole, ms[...], &expected)
        whole.tick(now: 10_000)
        whole.flush()
        expected.add(whole)

        var first = try makeGraph()
        var got = Trace()
        run(&first, ms[..<cut], &got)
        let bytes = first.snapshot()
        var second = try makeGraph()
        try second.restore(bytes)
        #expect(second.snapshot() == bytes, "restore is exact")
        run(&second, ms[cut...], &got)
        second.tick(now: 10_000)
        second.flush()
        got.add(second)

        #expect(expected.results.count > 1000 && !expected.late.isEmpty && !expected.dead.isEmpty)
        #expect(got.bounds == expected.bounds)
        #expect(got.kinds == expected.kinds)
        #expect(got.keys == expected.keys)
        #expect(got.results.map(\.bitPattern) == expected.results.map(\.bitPattern))
        #expect(got.late == expected.late)
        #expect(got.features == expected.features)
        #expect(got.dead == expected.dead)
    }

    @Test func corruptSnapshotsThrowAndLeaveTheGraphUnchanged() throws {
        var g = try makeGraph()
        var t = Trace()
        run(&g, messages(seed: 9, count: 300)[...], &t)
        let good = g.snapshot()
        var target = try makeGraph()
        let pristine = target.snapshot()
        for cut in stride(from: 0, to: good.count, by: max(1, good.count / 60)) {
            #expect(throws: SerializationError.self) { try target.restore(Array(good[..<cut])) }
        }
        var bad = good
        bad[0] = UInt8(ascii: "X")
        #expect(throws: SerializationError.self) { try target.restore(bad) }
        #expect(throws: SerializationError.self) { try target.restore(good + [0]) }
        #expect(target.snapshot() == pristine)
        // a graph with a different window list refuses the snapshot
        var other = try StreamGraph(GraphSpec(schema: try Schema([.timestamp("ts"), .int("k"), .double("v"), .category("c", required: false)]),
                                              time: .eventTime(field: "ts", watermark: WatermarkConfig(outOfOrderness: 30, partitionCount: 2))))
        #expect(throws: SerializationError.self) { try other.restore(good) }
    }
}
