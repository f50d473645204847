import Foundation
import Testing
import WeirCore
@testable import WeirTopology

@Suite struct TopologyCompilerTests {
    @Test(arguments: ["topologies/card-fraud.yaml", "topologies/iot-sensors.yaml", "topologies/clickstream.yaml", "benchmarks/fraud-contract.yaml"])
    func exampleTopologyCompilesToARunnableGraph(_ path: String) throws {
        let spec = try TopologyLoader.load(path: repoRoot.appendingPathComponent(path).path)
        let compiled = try TopologyCompiler.compile(spec, partitions: 4)
        _ = try StreamGraph(compiled.graph)
        #expect(compiled.graph.features.isEmpty == (spec.model == nil))
    }

    /// Events through the compiled card-fraud graph: the model's inputs are the declared features.
    @Test func cardFraudFeaturesHaveTheDeclaredValues() throws {
        let spec = try TopologyLoader.load(path: repoRoot.appendingPathComponent("topologies/card-fraud.yaml").path)
        let compiled = try TopologyCompiler.compile(spec)
        #expect(compiled.inputNames.prefix(5) == ["amount_scaled", "log_amount", "device_age_scaled", "user_count_scaled", "user_mean_scaled"])
        #expect(compiled.inputNames.contains("merchant_onehot=fuel"))
        var graph = try StreamGraph(compiled.graph)
        let events = [
            #"{"event_id":"e1","ts":1700000000000,"user":"u1","amount":10.0,"merchant":"fuel","device_age_days":100}"#,
            #"{"event_id":"e2","ts":1700000001000,"user":"u1","amount":30.0,"merchant":"grocery","device_age_days":100,"label":1}"#,
            #"{"event_id":"e3","ts":1700000002000,"user":"u2","amount":5.0,"merchant":"fuel","device_age_days":7}"#,
            #"{"event_id":"e4","ts":"not a time","user":"u2","amount":5.0,"merchant":"fuel","device_age_days":7}"#,
        ]
        var input = InputBatch()
        for (i, e) in events.enumerated() { input.append(Array(e.utf8), partition: 0, offset: Int64(i)) }
        graph.process(input, now: 0)
        let out = graph.outputs
        #expect(out.features.count == 3)
        #expect(out.deadLetters.count == 1 && out.deadLetters.first?.offset == 3)
        let idx = { (name: String) in compiled.inputNames.firstIndex(of: name)! }
        let v2 = Array(out.features.vector(1))
        #expect(v2[idx("amount_scaled")] == 0.3)
        #expect(abs(v2[idx("log_amount")] - Foundation.log1p(30.0) / 5) < 1e-15)
        #expect(v2[idx("device_age_scaled")] == 0.1)
        #expect(v2[idx("user_count_scaled")] == 0.2)        // u1's second event in this minute, / 10
        #expect(v2[idx("user_mean_scaled")] == 0.2)         // mean(10, 30) / 100
        #expect(v2[idx("merchant_onehot=grocery")] == 1 && v2[idx("merchant_onehot=fuel")] == 0)
        let v3 = Array(out.features.vector(2))
        #expect(v3[idx("user_count_scaled")] == 0.1)        // u2's first event
    }

    @Test func ratioOfTwoFieldsCompilesAndDivisionByZeroIsZero() throws {
        let spec = try TopologyLoader.parse("""
            name: t
            source: {topics: [in], event_time: ts}
            schema: {ts: timestamp, a: double, b: double, label: int}
            features:
              ratio: "a / b"
            model: {inputs: [ratio]}
            """, file: "t.yaml")
        var graph = try StreamGraph(try TopologyCompiler.compile(spec).graph)
        graph.process(Array(#"{"ts":1700000000000,"a":3,"b":4,"label":0}"#.utf8), now: 0)
        graph.process(Array(#"{"ts":1700000000001,"a":3,"b":0,"label":0}"#.utf8), now: 0)
        #expect(Array(graph.outputs.features.values) == [0.75, 0])
    }

    @Test func affineFormsCompile() throws {
        let e = try ExpressionParser.parse("(x * 2 + 1) / 4 - 3")
        let (id, a, b) = try #require(TopologyCompiler.affine(e))
        #expect(id == "x" && a == 0.5 && b == 0.25 - 3)
    }
}
