import Foundation
import Testing
import WeirTopology
@testable import WeirRuntime

/// Issue 19: whatever `weir run` or `weir replay` refuses in a topology, validation reports first,
/// with file:line:column. Each case: a topology text the runtime would refuse, the diagnostic the
/// loader gives for it, and (where the refusal is in ``Pipeline/init(compiled:partitions:now:)``)
/// the pipeline's own refusal of the same spec when validation is bypassed.
@Suite struct ValidationMatchesRuntimeTests {
    static let valid = """
        name: v
        source: {topics: [events], key: user, event_time: ts}
        schema:
          ts: timestamp
          user: string
          event_id: string
          flag: bool
          x: double
        features:
          x2: "x * 2"
          x3: "x * 3"
        model:
          inputs: [x, x2]
          label_topic: {topic: labels, id_field: event_id}
          carry: [event_id]
        drift:
          monitors: [x, x2, score]

        """

    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var replace: String
        var with: String
        /// Where the diagnostic points: the first occurrence of this text in the broken topology
        /// (1-based line and column).
        var at: String
        var message: String
        /// The same problem put into a validated spec behind the loader's back, for refusals made by
        /// `Pipeline(compiled:)`; nil when the refusal is the Kafka runner's (a broker is needed).
        var bypass: (@Sendable (inout TopologySpec) -> Void)?
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        // KafkaRunner.run: "weir run reads one source topic for now"
        Case(name: "two source topics", replace: "topics: [events]", with: "topics: [events, more]", at: "[events, more]",
             message: "one source topic per topology today; source.topics lists 2 (events, more)", bypass: nil),
        // KafkaRunner.run: "model.label_topic must differ from the source topic"
        Case(name: "label topic is the source", replace: "topic: labels", with: "topic: events", at: "inputs: [x, x2]",
             message: "model.label_topic.topic 'events' must differ from the source topic", bypass: nil),
        // LabelTopicJoin.init: the id field must be a string or an int
        Case(name: "label id field of type bool", replace: "id_field: event_id", with: "id_field: flag", at: "inputs: [x, x2]",
             message: "model.label_topic.id_field 'flag' must be a string or int field, not bool",
             bypass: { $0.model!.labels = .topic(topic: "labels", idField: "flag", labelField: "label", maxWaitMs: 1_000) }),
        // DriftStage.init: a monitored feature must be one of the model's inputs
        Case(name: "monitor of a feature the model does not read", replace: "monitors: [x, x2, score]", with: "monitors: [x, x3, score]",
             at: "x3, score", message: "drift monitor 'x3' is a feature the model does not read as one input",
             bypass: { $0.drift!.monitors[1].field = "x3" }),
        // Pipeline.init: a carried field must be a schema field
        Case(name: "carried field not in the schema", replace: "carry: [event_id]", with: "carry: [evt]", at: "evt]",
             message: "model.carry 'evt' is not a field of the schema", bypass: { $0.model!.carry = ["evt"] }),
    ]

    /// 1-based line and column of the first occurrence of `needle` in `text`.
    static func position(of needle: String, in text: String) -> (Int, Int)? {
        for (i, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            if let r = line.range(of: needle) { return (i + 1, line.distance(from: line.startIndex, to: r.lowerBound) + 1) }
        }
        return nil
    }

    @Test func theValidTopologyIsAcceptedByThePipeline() throws {
        let compiled = try TopologyCompiler.compile(try TopologyLoader.parse(Self.valid))
        let pipeline = try Pipeline(compiled: compiled)
        #expect(pipeline.model != nil && pipeline.labelTopic != nil)
    }

    @Test(arguments: cases)
    func validationReportsWhatTheRuntimeRefuses(_ c: Case) throws {
        #expect(Self.valid.contains(c.replace))
        let broken = Self.valid.replacingOccurrences(of: c.replace, with: c.with)
        let (line, column) = try #require(Self.position(of: c.at, in: broken))
        do {
            _ = try TopologyLoader.parse(broken, file: "broken.yaml")
            Issue.record("\(c.name): validated")
        } catch {
            #expect(error.diagnostics.count == 1, "\(error)")
            let d = try #require(error.diagnostics.first)
            #expect(d.location.file == "broken.yaml")
            #expect(d.location.line == line && d.location.column == column, "\(d) expected at \(line):\(column)")
            #expect(d.message.hasPrefix(c.message), "\(d.message)")
        }
        if let bypass = c.bypass {
            var spec = try TopologyLoader.parse(Self.valid)
            bypass(&spec)
            let compiled = try TopologyCompiler.compile(spec)
            #expect(throws: (any Error).self, "\(c.name): the pipeline accepted it") { _ = try Pipeline(compiled: compiled) }
        }
    }
}
