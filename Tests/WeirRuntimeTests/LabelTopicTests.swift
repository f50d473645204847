import Foundation
import Testing
import WeirCore
import WeirTestSupport
import WeirTopology
@testable import WeirRuntime

/// `model.label_topic`: events are scored on arrival; labels arrive later on their own topic,
/// join their event by id, and the model learns then.
@Suite struct LabelTopicTests {
    static let topology = labelTopicTopology(name: "delayed")

    static func compile() throws -> CompiledTopology {
        let path = tempDir() + "/delayed.yaml"
        try topology.write(toFile: path, atomically: true, encoding: .utf8)
        return try TopologyCompiler.compile(try TopologyLoader.load(path: path))
    }

    static func batch(_ lines: [String], firstOffset: Int64) -> InputBatch {
        var b = InputBatch(capacity: lines.count)
        for (i, l) in lines.enumerated() { b.append(Array(l.utf8), partition: 0, offset: firstOffset + Int64(i)) }
        return b
    }

    @Test func labelsJoinTheirScoredEventsAndTheModelLearnsFromThem() throws {
        var pipeline = try Pipeline(compiled: try Self.compile())
        var sink = RecordingSink()
        var rng = SeededGenerator(seed: 3)
        var offset: Int64 = 0, labelOffset: Int64 = 0
        var pending: [(id: String, y: Int)] = []
        var sentLabels = 0
        for b in 0..<40 {
            var lines: [String] = []
            var batchLabels: [(String, Int)] = []
            for i in 0..<100 {
                let n = b * 100 + i
                let x = Double.random(in: -2...2, using: &rng)
                lines.append(#"{"event_id":"e\#(n)","ts":\#(1_700_000_000_000 + n * 10),"user":"u\#(n % 7)","x":\#(x)}"#)
                batchLabels.append(("e\(n)", x > 0 ? 1 : 0))
            }
            try pipeline.process(Self.batch(lines, firstOffset: offset), topic: "events", now: 0, into: &sink)
            offset += 100
            // Labels for the previous batch arrive after this one was scored (one batch of delay).
            var labelLines = pending.map { #"{"event_id":"\#($0.id)","is_fraud":\#($0.y)}"# }
            sentLabels += labelLines.count
            if b == 5 {
                labelLines.append(#"{"event_id":"nope","is_fraud":1}"#)           // no such event
                labelLines.append(#"{"event_id":"e1","is_fraud":"yes"}"#)         // undecodable label
            }
            try pipeline.processLabels(Self.batch(labelLines, firstOffset: labelOffset), topic: "labels", into: &sink)
            labelOffset += Int64(labelLines.count)
            pending = batchLabels
        }
        let c = pipeline.counters
        #expect(c.scored == 4000)
        let scores = try sink.objects(.scores)
        #expect(scores.count == 4000)
        #expect(scores.allSatisfy { $0["label"] == nil })
        #expect(c.labelsJoined == sentLabels)
        #expect(c.labelled == sentLabels)
        #expect(c.labelsUnmatched == 1)
        #expect(c.labelDeadLetters == 1)
        #expect(sink.deadLetters.count == 1)
        #expect(sink.deadLetters.first?.field == "is_fraud")
        #expect(sink.deadLetters.first?.topic == "labels")
        let model = try #require(pipeline.model)
        // Prequential metrics are over the joined labels, with the score the event got on arrival.
        #expect(model.prequential.count == sentLabels)
        #expect(model.prequential.accuracy > 0.9, "\(model.prequential.accuracy)")
        // Late scores separate the classes: learning really happened from the delayed labels.
        let late = scores.suffix(500)
        let xs = late.map { ($0["score"] as! NSNumber).doubleValue }
        #expect(xs.contains { $0 > 0.8 } && xs.contains { $0 < 0.2 })
        #expect(sink.keys(.models).first == "delayed")
    }

    @Test func unlabelledEventsExpireAfterTheWaitAndTheirLateLabelsAreUnmatched() throws {
        var pipeline = try Pipeline(compiled: try Self.compile())
        var sink = RecordingSink()
        // 200 events over 200 s of event time; max_wait is 60 s.
        let lines = (0..<200).map { n in #"{"event_id":"e\#(n)","ts":\#(1_700_000_000_000 + n * 1000),"user":"u","x":1}"# }
        try pipeline.process(Self.batch(lines, firstOffset: 0), topic: "events", now: 0, into: &sink)
        try pipeline.processLabels(Self.batch([#"{"event_id":"e0","is_fraud":1}"#, #"{"event_id":"e199","is_fraud":1}"#],
                                              firstOffset: 0), topic: "labels", into: &sink)
        #expect(pipeline.counters.labelsJoined == 1, "e199 is within the wait")
        #expect(pipeline.counters.labelsUnmatched == 1, "e0 waited longer than 60 s of event time")
        #expect(pipeline.counters.labelsExpired >= 130)
        #expect(pipeline.counters.labelsExpired <= 141)
    }
}
