import Testing
import WeirCore
import WeirTestSupport

/// A test event: key, event time, value; arrival order = array order.
struct TestEvent {
    var key: Int
    var ts: Int64
    var value: Double
    var partition: Int32 = 0

    var json: [UInt8] { Array("{\"ts\":\(ts),\"k\":\(key),\"v\":\(value)}".utf8) }
}

/// Random out-of-order stream: base time rises `step` ms per event, each event is up to
/// `disorder` ms early; values are a function of (ts, key) so ties in time carry equal values.
func randomStream(seed: UInt64, count: Int, keys: Int, step: Int64, disorder: Int64, start: Int64 = 1_000_000) -> [TestEvent] {
    var g = SeededGenerator(seed: seed)
    var out: [TestEvent] = []
    for i in 0..<count {
        let base = start + Int64(i) * step
        let ts = base - (disorder > 0 ? Int64.random(in: 0...disorder, using: &g) : 0)
        let k = Int.random(in: 0..<keys, using: &g)
        let v = Double((ts &* 7919 &+ Int64(k) * 13) % 1000) / 10 - 20
        out.append(TestEvent(key: k, ts: ts, value: v))
    }
    return out
}

/// The aggregates every oracle test checks (all numeric, over field "v", plus the event count).
let oracleAggregates: [AggregateSpec] = [
    .count(), .sum("v"), .mean("v"), .min("v"), .max("v"), .variance("v"), .std("v"),
    .first("v"), .last("v"), .ewma("v", alpha: 0.3),
]

/// Recomputes the oracle aggregates from scratch over events in arrival order.
func bruteAggregates(_ evs: [TestEvent], ewma: Bool = true) -> [Double] {
    let n = Double(evs.count)
    guard !evs.isEmpty else { return [0, 0, 0, 0, 0, 0, 0, 0, 0, 0] }
    let vs = evs.map(\.value)
    let sum = vs.reduce(0, +)
    let mean = sum / n
    var ss = 0.0
    for v in vs { ss += (v - mean) * (v - mean) }
    let variance = evs.count > 1 ? ss / (n - 1) : 0
    var first = evs[0], last = evs[0]
    for e in evs {
        if e.ts < first.ts { first = e }
        if e.ts >= last.ts { last = e }
    }
    var s = vs[0]
    for v in vs.dropFirst() { s = 0.3 * v + 0.7 * s }
    var out = [n, sum, mean, vs.min()!, vs.max()!, variance, variance.squareRoot(), first.value, last.value]
    if ewma { out.append(s) }
    return out
}

func schemaTKV() throws -> Schema {
    try Schema([.timestamp("ts"), .int("k"), .double("v")])
}

/// One emitted row, decoded for comparison.
struct Emission: CustomStringConvertible {
    var key: Int
    var start: Int64
    var end: Int64
    var kind: ResultKind
    var values: [Double]
    var description: String { "k\(key) [\(start),\(end)) \(kind) \(values)" }
}

func emissions(_ r: WindowResults, window: Int) -> [Emission] {
    var out: [Emission] = []
    for i in 0..<r.count where Int(r.window[i]) == window {
        let kb = Array(r.keyBytes(i))
        var key: Int64 = 0
        for (j, b) in kb.prefix(8).enumerated() { key |= Int64(b) << (8 * Int64(j)) }
        out.append(Emission(key: Int(key), start: r.start[i], end: r.end[i], kind: r.kind[i], values: Array(r.values(i))))
    }
    return out
}

func valuesClose(_ a: [Double], _ b: [Double]) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { isClose($0, $1, relative: 1e-9, absolute: 1e-9) }
}

/// Runs events through a one-window graph, one message per call, then flushes.
func runGraph(_ events: [TestEvent], window: WindowSpec, bound: Int64) throws -> (emissions: [Emission], late: [Int]) {
    var g = try StreamGraph(GraphSpec(schema: try schemaTKV(),
                                      time: .eventTime(field: "ts", watermark: WatermarkConfig(outOfOrderness: bound)),
                                      windows: [window]))
    var em: [Emission] = []
    var late: [Int] = []
    for (i, e) in events.enumerated() {
        g.process(e.json, partition: 0, offset: Int64(i), now: 0)
        em += emissions(g.outputs.windowResults, window: 0)
        late += g.outputs.late.map { Int($0.offset) }
        #expect(g.outputs.deadLetters.isEmpty)
        g.clearOutputs()
    }
    g.flush()
    em += emissions(g.outputs.windowResults, window: 0)
    return (em, late)
}
