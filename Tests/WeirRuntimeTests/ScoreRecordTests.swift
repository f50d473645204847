import Foundation
import Testing
import WeirCore
import WeirTopology
@testable import WeirRuntime

/// `model.emit_features`: score records carry the model input as it was scored.
@Suite struct ScoreRecordTests {
    static func topology(emit: Bool, sinks: String = "") -> String {
        """
        name: scored
        source: {topics: [events], key: user, event_time: ts}
        schema:
          ts: {type: timestamp}
          user: {type: string}
          x: {type: double}
          kind: {type: category, categories: [a, b]}
          label: {type: int, min: 0, max: 1, required: false}
        features:
          x_scaled: "x / 10"
          kind_onehot: {one_hot: kind, categories: [a, b]}
        model:
          inputs: [x, x_scaled, kind_onehot]
          emit_features: \(emit)
        \(sinks)
        """
    }

    static func run(emit: Bool, sinks: String = "") throws -> (RecordingSink, PipelineCounters) {
        let path = tempDir() + "/scored.yaml"
        try topology(emit: emit, sinks: sinks).write(toFile: path, atomically: true, encoding: .utf8)
        var pipeline = try Pipeline(compiled: try TopologyCompiler.compile(try TopologyLoader.load(path: path)))
        var sink = RecordingSink()
        let lines = [#"{"ts":1700000000000,"user":"u1","x":2.5,"kind":"b","label":1}"#,
                     #"{"ts":1700000000100,"user":"u2","x":-4,"kind":"a"}"#]
        var batch = InputBatch(capacity: 2)
        for (i, l) in lines.enumerated() { batch.append(Array(l.utf8), partition: 0, offset: Int64(i)) }
        try pipeline.process(batch, topic: "events", now: 0, into: &sink)
        return (sink, pipeline.counters)
    }

    @Test func scoreRecordsCarryTheScoredFeaturesWhenAsked() throws {
        let scores = try Self.run(emit: true).0.objects(.scores)
        #expect(scores.count == 2)
        let f0 = try #require(scores[0]["features"] as? [NSNumber]).map(\.doubleValue)
        let f1 = try #require(scores[1]["features"] as? [NSNumber]).map(\.doubleValue)
        // x, x/10, then the one-hot of kind (a, b).
        #expect(f0 == [2.5, 0.25, 0, 1])
        #expect(f1 == [-4, -0.4, 1, 0])
        #expect(scores[0]["key"] as? String == "u1")
        #expect((scores[0]["label"] as? NSNumber)?.intValue == 1)
    }

    @Test func scoreRecordsHaveNoFeaturesByDefault() throws {
        let scores = try Self.run(emit: false).0.objects(.scores)
        #expect(scores.count == 2)
        #expect(scores.allSatisfy { $0["features"] == nil })
    }

    /// `sinks.scores: null`: events are still scored and learned from (counted), but no score
    /// record is built or written; the model's version record still goes to its sink.
    @Test func disabledScoreSinkWritesNoScoreRecords() throws {
        let (sink, counters) = try Self.run(emit: true, sinks: "sinks: {scores: null}")
        #expect(try sink.objects(.scores).isEmpty)
        #expect(counters.scored == 2 && counters.labelled == 1)
        #expect(try sink.objects(.models).count == 1)
        let (enabled, _) = try Self.run(emit: true)
        #expect(try enabled.objects(.scores).count == 2)
    }
}
