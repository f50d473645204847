import Testing
import WeirModel

/// NaN/Inf features, labels outside {0,1}, exploding gradients: skipped and counted or clipped;
/// weights never become NaN.
@Suite struct BadInputTests {
    let layout = FeatureLayout(numericCount: 2, sparseDimension: 4, sparseCapacity: 1)

    func allFinite<O>(_ m: LinearModel<O>) -> Bool { m.weights.array.allSatisfy(\.isFinite) && m.intercept.isFinite }

    @Test(arguments: [Double.nan, .infinity, -.infinity])
    func nonFiniteFeaturesAreSkippedAndCounted(bad: Double) {
        var m = LinearModel(config: LinearModelConfig(layout: layout), optimizer: SGD(lr: 0.1))
        var x = ModelInput(layout: layout)
        x.setNumeric(0, 1); x.setNumeric(1, 2); x.appendSparse(index: 1)
        m.learn(x, label: 1)
        let before = m
        x.setNumeric(1, bad)
        #expect(m.learn(x, label: 1) == .skippedInvalidFeature)
        #expect(m.weights == before.weights)
        #expect(m.counts.skippedInvalidFeature == 1)
        let p = m.predict(x)
        #expect(!p.isNaN)
        // Sparse values too.
        var y = ModelInput(layout: layout)
        y.appendSparse(index: 2, value: bad)
        #expect(m.learn(y, label: 0) == .skippedInvalidFeature)
        #expect(allFinite(m))
    }

    @Test(arguments: [2.0, -1.0, 0.5, Double.nan, Double.infinity])
    func labelsOutsideZeroOneAreSkipped(label: Double) {
        var m = LinearModel(config: LinearModelConfig(layout: layout), optimizer: AdaGrad())
        var x = ModelInput(layout: layout)
        x.setNumeric(0, 1)
        #expect(m.learn(x, label: label) == .skippedInvalidLabel)
        #expect(m.counts.skippedInvalidLabel == 1)
        #expect(m.counts.learned == 0)
        #expect(m.weights.array.allSatisfy { $0 == 0 })
    }

    @Test func explodingGradientsAreClippedAndWeightsStayFinite() {
        // Regression with huge targets and features: the loss gradient 2(z − y) overflows the clip.
        let cfg = LinearModelConfig(layout: layout, task: .linear, clipGradient: 1e6, maxAbsWeight: 1e9)
        var m = LinearModel(config: cfg, optimizer: SGD(lr: 1))
        var x = ModelInput(layout: layout)
        for i in 0..<200 {
            x.setNumeric(0, i % 2 == 0 ? 1e150 : -1e150)
            x.setNumeric(1, 3)
            m.learn(x, label: i % 3 == 0 ? 1e300 : -1e300)
            #expect(allFinite(m))
        }
        #expect(m.counts.clipped > 0)
        #expect(m.counts.weightClamps > 0)
        #expect(m.weights.array.allSatisfy { abs($0) <= 1e9 })
        #expect(m.predict(x).isFinite || m.predict(x).isInfinite)   // defined, never NaN
        #expect(!m.predict(x).isNaN)
    }

    @Test func ftrlAndAdaGradNeverProduceNaNWeights() {
        var f = LinearModel(config: LinearModelConfig(layout: layout, maxAbsWeight: 1e6), optimizer: FTRLProximal(alpha: 1e300))
        var a = LinearModel(config: LinearModelConfig(layout: layout, maxAbsWeight: 1e6), optimizer: AdaGrad(.constant(1e300)))
        var x = ModelInput(layout: layout)
        for i in 0..<100 {
            x.setNumeric(0, i % 2 == 0 ? 1e200 : -1e-200)
            x.setNumeric(1, Double(i))
            f.learn(x, label: Double(i % 2))
            a.learn(x, label: Double((i + 1) % 2))
            #expect(allFinite(f))
            #expect(allFinite(a))
        }
    }

    @Test func learnerCountsInvalidInputsAndLabels() {
        var learner = OnlineLearner(model: LinearModel(config: LinearModelConfig(layout: layout), optimizer: SGD()),
                                    version: ModelVersion(modelId: "m"), freshOptimizer: SGD(), detector: NoDriftDetector())
        var x = ModelInput(layout: layout)
        x.setNumeric(0, .nan); x.setNumeric(1, 1)
        let p = learner.score(eventId: 1, time: 0, input: &x)
        #expect(p == 0.5)
        #expect(learner.counts.invalidInputs == 1)
        guard case .joined(let e, let outcome) = learner.applyLabel(eventId: 1, label: 1, now: 1) else {
            Issue.record("not joined"); return
        }
        #expect(!e.learnable)
        #expect(outcome == .skippedInvalidFeature)
        #expect(learner.champion.counts.learned == 0)
        x.setNumeric(0, 1)
        _ = learner.score(eventId: 2, time: 2, input: &x)
        #expect(learner.applyLabel(eventId: 2, label: 7, now: 3) == .joined(JoinedEvent(eventId: 2, time: 2, score: 0.5, learnable: true), .skippedInvalidLabel))
        #expect(learner.counts.invalidLabels == 1)
        #expect(learner.applyLabel(eventId: 99, label: 1, now: 3) == .unmatched)
    }
}

@Suite struct LayoutMismatchTests {
    /// An input built for a wider layout never reads or writes outside the model's weights.
    @Test func foreignSparseIndicesAreIgnored() {
        let small = FeatureLayout(numericCount: 2, sparseDimension: 4, sparseCapacity: 2)
        let wide = FeatureLayout(numericCount: 5, sparseDimension: 1 << 20, sparseCapacity: 2)
        var m = LinearModel(config: LinearModelConfig(layout: small), optimizer: SGD(lr: 0.1))
        var x = ModelInput(layout: wide)
        x.setNumeric(0, 1); x.setNumeric(4, 100)
        x.appendSparse(index: 1 << 19)
        x.appendSparse(index: 3)
        let p = m.predictThenLearn(x, label: 1)
        #expect(p == 0.5)
        #expect(m.weights.count == 6)
        #expect(m.weights[0] > 0 && m.weights[1] == 0)   // numeric 4 is outside the model: ignored
        #expect(m.weights[5] > 0)                        // sparse 3 learned; 2^19 ignored
    }
}
