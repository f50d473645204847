import Foundation
import Testing
import WeirCore
@testable import WeirRuntime

/// Retraining decisions and new versions are dated in event time (the closing event's), not by the
/// wall clock `weir run` passes as `now`: their `time`/`created_at` sit among the drift windows'
/// event times, and a wall clock far ahead of the events changes no record.
@Suite struct DecisionTimeTests {
    static func models(now: Int64) throws -> [String] {
        let compiled = try SplitPipelineTests.topology()
        let generator = CardFraudGenerator(seed: 5, users: 600, driftAt: 20_000)
        var pipeline = try Pipeline(compiled: compiled)
        var sink = RecordingSink()
        var batch = InputBatch(capacity: 1000)
        for start in stride(from: 0, to: 40_000, by: 1000) {
            batch.removeAll()
            for i in start..<(start + 1000) { batch.append(Array(generator.event(i).utf8), partition: 0, offset: Int64(i)) }
            try pipeline.process(batch, topic: "transactions", now: now, into: &sink)
        }
        return sink.records.filter { $0.kind == OutputKind.models.rawValue }.map { String(decoding: $0.value, as: UTF8.self) }
    }

    @Test func decisionsAreDatedInEventTimeWhateverTheWallClock() throws {
        let replay = try Self.models(now: 0)
        let run = try Self.models(now: 4_102_444_800_000)   // 2100-01-01, far ahead of the events (2023)
        #expect(run == replay)
        let decisions = try replay.map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
            .filter { ($0["type"] as! String) != "model_version" }
        #expect(!decisions.isEmpty)
        for d in decisions {
            let t = d["time"] as! Int
            #expect(t > 1_700_000_000_000 && t < 1_700_000_000_000 + 40_000 * 10 + 60_000, "\(d)")
        }
    }
}
