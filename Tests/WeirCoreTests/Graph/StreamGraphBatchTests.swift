import Testing
import WeirCore
import WeirTestSupport

/// The batch loop (decode the batch first, then windows with prefetch look-ahead) must give
/// exactly the outputs and state of processing the same messages one by one.
@Suite struct StreamGraphBatchTests {
    static func graph(maxKeys: Int) throws -> StreamGraph {
        let schema = try Schema([
            .timestamp("ts"), .string("user"), .double("amount", min: 0), .int("shop", min: 0),
            .category("merchant", allowed: ["a", "b", "c"]), .int("label", required: false, min: 0, max: 1),
        ])
        let aggs: [AggregateSpec] = [.count(), .sum("amount"), .mean("amount"), .max("amount"), .min("amount"),
                                     .variance("amount"), .last("amount"), .count("labeled", field: "label")]
        return try StreamGraph(GraphSpec(
            schema: schema,
            time: .eventTime(field: "ts", watermark: WatermarkConfig(outOfOrderness: 300, partitionCount: 3)),
            windows: [
                WindowSpec(name: "tumble", keyBy: "user", kind: .tumbling(size: 1000, offset: 170), allowedLateness: 200,
                           aggregates: aggs, maxKeys: maxKeys),
                WindowSpec(name: "shop", keyBy: "shop", kind: .tumbling(size: 700), allowedLateness: 0, aggregates: aggs),
                WindowSpec(name: "panes", keyBy: "user", kind: .hopping(size: 3000, hop: 1000), allowedLateness: 500,
                           aggregates: aggs),
                WindowSpec(name: "hop", keyBy: "merchant", kind: .hopping(size: 2500, hop: 1000, offset: 30),
                           allowedLateness: 100, aggregates: [.count(), .ewma("amount", alpha: 0.3)]),
                WindowSpec(name: "global", keyBy: nil, kind: .hopping(size: 2000, hop: 500), allowedLateness: 300,
                           aggregates: aggs),
                WindowSpec(name: "session", keyBy: "user", kind: .session(gap: 400), allowedLateness: 100, aggregates: aggs),
                WindowSpec(name: "slide", keyBy: "user", kind: .sliding(length: 800), aggregates: aggs),
                WindowSpec(name: "every5", keyBy: "user", kind: .count(5), aggregates: aggs),
            ],
            features: [
                .field("amount", scale: 0.5), .log1p("amount", scale: 0.2),
                .window("tumble", column: "mean"), .window("panes", column: "count"), .window("session", column: "max"),
                .window("slide", column: "sum"), .window("global", column: "variance"), .oneHot("merchant"),
            ]))
    }

    /// Random out-of-order messages around event time 0 (negative times included), with late
    /// events, bad records and keys coming and going.
    static func messages(_ n: Int, seed: UInt64) -> [(bytes: [UInt8], partition: Int32)] {
        var g = SeededGenerator(seed: seed)
        var out: [(bytes: [UInt8], partition: Int32)] = []
        for i in 0..<n {
            let p = Int32.random(in: 0..<3, using: &g)
            let r = Double.random(in: 0..<1, using: &g)
            if r < 0.03 { out.append((Array("{\"ts\":1,\"user\":".utf8), p)); continue }  // malformed
            if r < 0.05 { out.append((Array("{\"ts\":5,\"user\":\"u1\",\"amount\":-1,\"shop\":1,\"merchant\":\"a\"}".utf8), p)); continue }
            var ts = -20_000 + Int64(i) * 37 - Int64.random(in: 0...400, using: &g)
            if r < 0.08 { ts -= Int64.random(in: 0...3000, using: &g) }  // late for some windows
            let user = "u\(Int.random(in: 0..<(i % 500 < 250 ? 12 : 40), using: &g))"
            let amount = Double(Int.random(in: 0...100_000, using: &g)) / 100
            var s = "{\"ts\":\(ts),\"user\":\"\(user)\",\"amount\":\(amount),\"shop\":\(Int.random(in: 0..<7, using: &g)),"
                + "\"merchant\":\"\(["a", "b", "c"][Int.random(in: 0..<3, using: &g)])\""
            if Bool.random(using: &g) { s += ",\"label\":\(Int.random(in: 0...1, using: &g))" }
            out.append((Array((s + "}\n").utf8), p))
        }
        return out
    }

    /// Everything observable of one call's outputs, as comparable values.
    struct Observed: Equatable {
        var offsets: [Int64] = [], partitions: [Int32] = [], eventTimes: [Int64] = []
        var features: [Double] = [], featureRows: [Int] = []
        var results: [[Double]] = [], resultKeys: [[UInt8]] = []
        var late: [LateEvent] = [], dead: [DeadLetter] = []

        mutating func add(_ g: StreamGraph) {
            let o = g.outputs
            offsets += o.records.offsets
            partitions += o.records.partitions
            eventTimes += (0..<o.records.count).map { o.records.eventTime($0) }
            features += o.features.values
            featureRows += o.features.recordRows
            let w = o.windowResults
            for i in 0..<w.count {
                results.append([Double(w.window[i]), Double(w.kind[i].rawValue), Double(w.start[i]), Double(w.end[i])] + w.values(i))
                resultKeys.append(Array(w.keyBytes(i)))
            }
            late += o.late
            dead += o.deadLetters
        }
    }

    func oneByOne(_ msgs: [(bytes: [UInt8], partition: Int32)], maxKeys: Int) throws -> (Observed, [UInt8], StreamGraph) {
        var g = try Self.graph(maxKeys: maxKeys)
        var obs = Observed()
        var i = 0
        while i < msgs.count {
            // same batch boundaries as the batch runs (rows are per call)
            let end = min(msgs.count, i + 97)
            g.clearOutputs()
            for j in i..<end { g.process(msgs[j].bytes, partition: msgs[j].partition, offset: Int64(j), now: 0) }
            obs.add(g)
            i = end
        }
        return (obs, g.snapshot(), g)
    }

    @Test(arguments: [(1, 0), (2, 1), (3, 2), (4, 4), (5, 16)])
    func batchLoopEqualsOneByOne(seed: Int, distance: Int) throws {
        let maxKeys = seed == 3 ? 15 : 1_000_000  // seed 3 also rejects keys at the limit
        let msgs = Self.messages(2000, seed: UInt64(seed))
        let (want, wantState, ref) = try oneByOne(msgs, maxKeys: maxKeys)
        #expect(want.dead.count > 50 && want.late.count > 20 && want.results.count > 500, "the stream exercises the cases")

        // InputBatch (what Pipeline uses)
        var g = try Self.graph(maxKeys: maxKeys)
        g.prefetchDistance = distance
        var got = Observed()
        var batch = InputBatch()
        var i = 0
        while i < msgs.count {
            let end = min(msgs.count, i + 97)
            batch.removeAll()
            for j in i..<end { batch.append(msgs[j].bytes, partition: msgs[j].partition, offset: Int64(j)) }
            g.process(batch, now: 0)
            got.add(g)
            i = end
        }
        #expect(got == want)
        #expect(g.snapshot() == wantState)
        #expect(g.recordsProcessed == ref.recordsProcessed && g.deadLetterCount == ref.deadLetterCount)
        for w in g.windows.indices { #expect(g.windows[w].stats == ref.windows[w].stats) }
    }

    @Test(arguments: [0, 3])
    func messagesInPlaceEqualOneByOne(distance: Int) throws {
        // one partition: process(messages:starts:) takes a single partition and consecutive offsets
        let msgs = Self.messages(1500, seed: 11).map { (bytes: $0.bytes, partition: Int32(0)) }
        let (want, wantState, _) = try oneByOne(msgs, maxKeys: 1_000_000)
        var all: [UInt8] = []
        var starts: [Int] = [0]
        for m in msgs { all += m.bytes; starts.append(all.count) }
        var g = try Self.graph(maxKeys: 1_000_000)
        g.prefetchDistance = distance
        var got = Observed()
        var i = 0
        while i < msgs.count {
            let end = min(msgs.count, i + 97)
            g.clearOutputs()
            all.withUnsafeBytes { b in
                starts.withUnsafeBufferPointer { s in
                    g.process(messages: b, starts: UnsafeBufferPointer(rebasing: s[i...end]), partition: 0,
                              firstOffset: Int64(i), now: 0)
                }
            }
            got.add(g)
            i = end
        }
        #expect(got == want)
        #expect(g.snapshot() == wantState)
    }
}
