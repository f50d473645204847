import Testing
import WeirTestSupport
@testable import WeirRuntime

/// The global stage's merge of task batches, against a brute-force oracle: a stable sort of
/// every event by (key, batch, position).
@Suite struct GlobalMergeTests {
    @Test(arguments: [1, 2, 3, 12], [0, 1, 7, 300])
    func runsVisitEveryEventInKeyOrderTiesToTheEarlierBatch(batches: Int, events: Int) throws {
        var g = SeededGenerator(seed: UInt64(batches * 1000 + events))
        var encoded: [[UInt8]] = []
        var keys: [[Int64]] = []
        for b in 0..<batches {
            var w = GlobalBatchWriter(partition: Int32(b), dimension: 0, monitoredCount: 0)
            let n = events == 0 ? 0 : Int(g.next(below: UInt64(events))) + 1
            // Keys ascend within a batch (a partition's event times, mostly), with ties and
            // ties across batches (few distinct values).
            var t: Int64 = 0
            var ks: [Int64] = []
            for _ in 0..<n {
                t += Int64(g.next(below: 3))
                ks.append(t)
                w.append(eventTime: t, offset: Int64(ks.count - 1), score: 0, label: nil, inputs: .init(start: nil, count: 0),
                         monitored: .init(start: nil, count: 0), present: 0)
            }
            var out: [UInt8] = []
            w.encode(watermark: 0, into: &out)
            encoded.append(out)
            keys.append(ks)
        }
        let oracle = keys.enumerated().flatMap { b, ks in ks.enumerated().map { (key: $0.element, batch: b, i: $0.offset) } }
            .sorted { ($0.key, $0.batch, $0.i) < ($1.key, $1.batch, $1.i) }.map { "\($0.batch)/\($0.i)" }
        var visited: [String] = []
        var calls = 0
        try SplitPipelineTests.withReaders(encoded, Array(0..<batches)) { rs in
            GlobalMerge.runs(rs, by: { $0.eventTime($1) }) { k, range in
                calls += 1
                #expect(!range.isEmpty)
                for i in range { visited.append("\(k)/\(i)") }
            }
        }
        #expect(visited == oracle)
        if batches == 1 && events > 0 { #expect(calls == 1) }
    }
}
