import Testing
import WeirModel

/// Gated retraining end to end: concept flip → ADWIN on the loss → retrain request → challenger
/// trained on the recent buffer → shadow → promoted; a stationary stream never promotes.
@Suite struct GatedRetrainingTests {
    let w = [2.0, -2.0, 1.5, -1.0]
    let layout = FeatureLayout(numericCount: 4)

    func config() -> OnlineLearnerConfig {
        OnlineLearnerConfig(retraining: RetrainingConfig(bufferCapacity: 1_000, minTrainingEvents: 200, trainingEpochs: 3,
                                                         minShadowEvents: 300, margin: 0.05, warmupEvents: 2_000))
    }

    func learner<D: LossDriftDetector>(_ d: D) -> OnlineLearner<SGD, D> {
        OnlineLearner(model: LinearModel(config: LinearModelConfig(layout: layout), optimizer: SGD(lr: 0.01)),
                      version: ModelVersion(modelId: "fraud", referenceId: "ref-1"), freshOptimizer: SGD(lr: 0.01),
                      detector: d, config: config())
    }

    @Test func conceptFlipIsDetectedRetrainedAndPromoted() throws {
        let before = logisticStream(n: 20_000, w: w, b: 0, seed: 21)
        let after = logisticStream(n: 20_000, w: w.map { -$0 }, b: 0, seed: 22)
        let stream = before + after
        var gated = learner(try ADWINLossDetector())
        var keep = learner(NoDriftDetector())          // the champion, never replaced
        var x = ModelInput(layout: layout)
        var decisions = [RetrainDecision]()
        var promotedAt: Int?
        var lossGated = 0.0, lossKeep = 0.0, counted = 0
        for (i, e) in stream.enumerated() {
            fillNumeric(&x, e.x)
            let pg = gated.scoreAndLearn(input: &x, label: e.y, time: Int64(i))
            fillNumeric(&x, e.x)
            let pk = keep.scoreAndLearn(input: &x, label: e.y, time: Int64(i))
            let new = gated.takeDecisions()
            decisions += new
            if promotedAt == nil, new.contains(where: { $0.kind == .modelPromoted }) { promotedAt = i }
            if let p = promotedAt, i > p {
                lossGated += binaryLogLoss(p: pg, y: e.y)
                lossKeep += binaryLogLoss(p: pk, y: e.y)
                counted += 1
            }
        }
        // Drift was detected after the flip, a challenger trained, then promoted.
        let trained = try #require(decisions.first { $0.kind == .modelTrained && $0.reason == "concept_drift" })
        #expect(trained.time >= 20_000, "no drift-triggered retrain before the flip")
        // Trained on the events labelled after the detection only (≥ minTrainingEvents of them).
        #expect(trained.trainedEvents >= 200 && trained.trainedEvents <= 210)
        let promoted = try #require(decisions.first { $0.kind == .modelPromoted })
        #expect(promoted.challengerVersion == trained.challengerVersion)
        #expect(promoted.challengerLogLoss < promoted.championLogLoss * 0.95)
        #expect(promoted.shadowEvents == 300)
        #expect(gated.championVersion.version == promoted.challengerVersion)
        #expect(gated.championVersion.parentVersion == 1)
        #expect(gated.championVersion.retrainRequestId == trained.requestId)
        #expect(gated.championVersion.referenceId == "ref-1")
        let p = try #require(promotedAt)
        #expect(p < 20_000 + 5_000, "promoted within 5,000 events of the flip (at \(p))")
        // Prequential loss after promotion is better than keeping the champion.
        #expect(counted > 0)
        print("post-promotion log loss: gated \(lossGated / Double(counted)) vs champion kept \(lossKeep / Double(counted)) over \(counted) events; promoted at \(p); drift detections \(gated.counts.driftDetections)")
        #expect(lossGated < lossKeep)
        // Every decision serialises to JSON with its metrics.
        for d in decisions { #expect(!d.json().isEmpty) }
    }

    @Test func stationaryStreamNeverPromotes() throws {
        let stream = logisticStream(n: 40_000, w: w, b: 0, seed: 23)
        var gated = learner(try ADWINLossDetector())
        var x = ModelInput(layout: layout)
        var decisions = [RetrainDecision]()
        for (i, e) in stream.enumerated() {
            fillNumeric(&x, e.x)
            _ = gated.scoreAndLearn(input: &x, label: e.y, time: Int64(i))
            // Explicit retrain requests every 5,000 events as well: challengers trained on recent
            // data must not beat a champion of the same concept by the margin.
            if i % 5_000 == 4_999 { gated.requestRetrain(requestId: "req-\(i)", reason: "scheduled", now: Int64(i)) }
            decisions += gated.takeDecisions()
        }
        #expect(decisions.filter { $0.kind == .modelPromoted }.isEmpty)
        #expect(decisions.filter { $0.kind == .modelRejected }.count >= 7)
        #expect(gated.championVersion.version == 1)
        for d in decisions where d.kind == .modelRejected {
            #expect(d.detail == "not_better_by_margin")
            #expect(d.challengerLogLoss > d.championLogLoss * 0.95)
        }
    }

    @Test func requestsDuringShadowAreIgnoredAndTooLittleDataIsRejected() {
        var gated = learner(NoDriftDetector())
        var x = ModelInput(layout: layout)
        // 100 events < minTrainingEvents (200): rejected at once for insufficient data.
        let stream = logisticStream(n: 1_000, w: w, b: 0, seed: 24)
        for (i, e) in stream.prefix(100).enumerated() {
            fillNumeric(&x, e.x)
            _ = gated.scoreAndLearn(input: &x, label: e.y, time: Int64(i))
        }
        let accepted = gated.requestRetrain(requestId: "a", reason: "manual", now: 100)
        #expect(accepted)
        let d = gated.takeDecisions()
        #expect(d.count == 1 && d[0].kind == .modelRejected && d[0].detail == "insufficient_data" && d[0].trainedEvents == 100)
        for (i, e) in stream.dropFirst(100).prefix(200).enumerated() {
            fillNumeric(&x, e.x)
            _ = gated.scoreAndLearn(input: &x, label: e.y, time: Int64(100 + i))
        }
        let acceptedB = gated.requestRetrain(requestId: "b", reason: "manual", now: 300, referenceId: "ref-9")
        #expect(acceptedB)
        #expect(gated.gate.inShadow)
        #expect(gated.gate.challengerVersion?.referenceId == "ref-9")
        #expect(gated.gate.challengerVersion?.retrainRequestId == "b")
        #expect(gated.gate.challengerVersion?.parentVersion == 1)
        let acceptedC = gated.requestRetrain(requestId: "c", reason: "manual", now: 301)
        #expect(!acceptedC)
        #expect(gated.gate.ignoredRequests == 1)
    }
}

/// The same loop for linear regression: squared error to ADWIN, MSE in the shadow comparison.
@Suite struct GatedRegressionTests {
    @Test func regressionConceptFlipPromotesAndBeatsTheKeptChampion() throws {
        let w = [1.0, -2.0, 0.5]
        var rng = SeededGeneratorBox(seed: 51)
        var stream = [SynthEvent]()
        for i in 0..<24_000 {
            let x = w.map { _ in rng.gaussian() }
            let sign: Double = i < 12_000 ? 1 : -1
            var y = 0.3
            for k in 0..<3 { y += sign * w[k] * x[k] }
            stream.append(SynthEvent(x: x, y: y + 0.2 * rng.gaussian()))
        }
        let layout = FeatureLayout(numericCount: 3)
        let cfg = OnlineLearnerConfig(window: .sliding(1_000),
                                      retraining: RetrainingConfig(bufferCapacity: 500, minTrainingEvents: 200, trainingEpochs: 3,
                                                                   minShadowEvents: 300, margin: 0.1, warmupEvents: 2_000))
        func make<D: LossDriftDetector>(_ d: D) -> OnlineLearner<SGD, D> {
            OnlineLearner(model: LinearModel(config: LinearModelConfig(layout: layout, task: .linear,
                                                                       interceptRate: .constant(0.002)),
                                             optimizer: SGD(lr: 0.002)),
                          version: ModelVersion(modelId: "amount"), freshOptimizer: SGD(lr: 0.002), detector: d, config: cfg)
        }
        var gated = make(try ADWINLossDetector())
        var keep = make(NoDriftDetector())
        var x = ModelInput(layout: layout)
        var promotedAt: Int?
        var seGated = 0.0, seKeep = 0.0, n = 0
        var decisions = [RetrainDecision]()
        for (i, e) in stream.enumerated() {
            fillNumeric(&x, e.x)
            let pg = gated.scoreAndLearn(input: &x, label: e.y, time: Int64(i))
            fillNumeric(&x, e.x)
            let pk = keep.scoreAndLearn(input: &x, label: e.y, time: Int64(i))
            let d = gated.takeDecisions()
            decisions += d
            if promotedAt == nil, d.contains(where: { $0.kind == .modelPromoted }) { promotedAt = i }
            if let p = promotedAt, i > p, i < p + 3_000 {
                seGated += (pg - e.y) * (pg - e.y); seKeep += (pk - e.y) * (pk - e.y); n += 1
            }
        }
        #expect(decisions.allSatisfy { $0.time >= 12_000 }, "no retraining before the flip")
        let p = try #require(promotedAt)
        #expect(p < 15_000)
        print("regression: promoted at \(p); MSE over the next \(n): gated \(seGated / Double(n)) vs kept \(seKeep / Double(n))")
        #expect(seGated < seKeep)
        // Converged on the new concept: windowed RMSE near the noise level (0.2).
        #expect(abs(gated.regression.rmse - 0.2) < 0.05, "rmse \(gated.regression.rmse)")
        #expect(gated.prequentialMSE > 0)
        #expect(gated.counts.invalidLabels == 0)
        _ = gated.scoreAndLearn(input: &x, label: .nan, time: 99_999)
        #expect(gated.counts.invalidLabels == 1)
    }
}
