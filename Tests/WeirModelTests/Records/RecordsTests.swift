import Foundation
import Testing
import WeirModel

/// JSON records parse with Foundation's JSONSerialization (an independent parser) and carry the
/// documented fields.
@Suite struct RecordsTests {
    func parse(_ bytes: [UInt8]) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
    }

    @Test func decisionRecord() throws {
        var d = RetrainDecision(kind: .modelPromoted, modelId: "fraud", time: 42, championVersion: 1,
                                challengerVersion: 2, requestId: "drift-1", reason: "concept_drift")
        d.shadowEvents = 300; d.championLogLoss = 0.9; d.challengerLogLoss = 0.4; d.margin = 0.05
        d.improvement = 5.0 / 9.0; d.detail = "better_by_margin"
        let o = try parse(d.json())
        #expect(o["type"] as? String == "model_promoted")
        #expect((o["champion_version"] as? NSNumber)?.intValue == 1)
        #expect((o["challenger_version"] as? NSNumber)?.intValue == 2)
        #expect(o["request_id"] as? String == "drift-1")
        let m = try #require(o["metrics"] as? [String: Any])
        #expect((m["challenger_log_loss"] as? NSNumber)?.doubleValue == 0.4)
        #expect((m["improvement"] as? NSNumber)?.doubleValue == 5.0 / 9.0)
        #expect((m["shadow_events"] as? NSNumber)?.intValue == 300)
    }

    @Test func modelVersionRecord() throws {
        let layout = FeatureLayout(numericCount: 2, sparseDimension: 4, sparseCapacity: 1)
        var m = LinearModel(config: LinearModelConfig(layout: layout), optimizer: AdaGrad())
        var x = ModelInput(layout: layout)
        x.setNumeric(0, 1); x.appendSparse(index: 2)
        m.learn(x, label: 1)
        let v = ModelVersion(modelId: "fraud", version: 2, createdAt: 7, parentVersion: 1, referenceId: nil,
                             retrainRequestId: "req-9", reason: "manual")
        let bytes = ModelVersionRecord.json(version: v, model: m, inputNames: ["amount", "age"])
        let o = try parse(bytes)
        #expect(o["type"] as? String == "model_version")
        #expect(o["inputs"] as? [String] == ["amount", "age"])
        #expect(try parse(ModelVersionRecord.json(version: v, model: m))["inputs"] == nil)
        #expect(String(decoding: bytes, as: UTF8.self).contains("[0,\(m.weights[0])]"))
        #expect(o["model_id"] as? String == "fraud")
        #expect((o["version"] as? NSNumber)?.intValue == 2)
        #expect((o["parent_version"] as? NSNumber)?.intValue == 1)
        #expect(o["reference_id"] is NSNull)
        #expect(o["retrain_request_id"] as? String == "req-9")
        #expect(o["optimizer"] as? String == "adagrad")
        let t = try #require(o["training"] as? [String: Any])
        #expect((t["learned"] as? NSNumber)?.intValue == 1)
        let ws = try #require(o["weights"] as? [[NSNumber]])
        // Non-zero weights only: numeric 0 and sparse slot 2 (index 2 + 2 = 4).
        #expect(ws.map { $0[0].intValue } == [0, 4])
        #expect(abs(ws[0][1].doubleValue - m.weights[0]) < 1e-15)
        #expect(abs(((o["intercept"] as? NSNumber)?.doubleValue ?? 0) - m.intercept) < 1e-15)
    }
}
