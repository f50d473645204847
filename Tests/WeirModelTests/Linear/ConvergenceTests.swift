import Testing
import WeirModel

/// Weights converge to the generating ones.
@Suite struct ConvergenceTests {
    let trueW = [1.5, -2.0, 0.8, -0.6]
    let trueB = -0.4

    func train<O: OnlineOptimizer>(_ opt: O, _ events: [SynthEvent], task: LinearTask = .logistic,
                                   interceptRate: LearningRate = .constant(0.01)) -> LinearModel<O> {
        let layout = FeatureLayout(numericCount: events[0].x.count)
        var m = LinearModel(config: LinearModelConfig(layout: layout, task: task, interceptRate: interceptRate), optimizer: opt)
        var input = ModelInput(layout: layout)
        for e in events { fillNumeric(&input, e.x); m.learn(input, label: e.y) }
        return m
    }

    @Test func knownLogisticModelSGD() {
        let events = logisticStream(n: 200_000, w: trueW, b: trueB, seed: 11)
        let m = train(SGD(.inverseScaling(0.5, power: 0.5)), events, interceptRate: .inverseScaling(0.5, power: 0.5))
        for i in 0..<trueW.count { #expect(abs(m.weights[i] - trueW[i]) < 0.1, "w[\(i)] = \(m.weights[i]) vs \(trueW[i])") }
        #expect(abs(m.intercept - trueB) < 0.1, "b = \(m.intercept)")
    }

    @Test func knownLogisticModelAdaGrad() {
        let events = logisticStream(n: 200_000, w: trueW, b: trueB, seed: 12)
        let m = train(AdaGrad(), events, interceptRate: .inverseScaling(0.5, power: 0.5))
        for i in 0..<trueW.count { #expect(abs(m.weights[i] - trueW[i]) < 0.1, "w[\(i)] = \(m.weights[i]) vs \(trueW[i])") }
        #expect(abs(m.intercept - trueB) < 0.1, "b = \(m.intercept)")
    }

    @Test func knownLogisticModelFTRLWithoutRegularisation() {
        let events = logisticStream(n: 200_000, w: trueW, b: trueB, seed: 13)
        let m = train(FTRLProximal(alpha: 0.5, beta: 1, l1: 0, l2: 0), events, interceptRate: .inverseScaling(0.5, power: 0.5))
        for i in 0..<trueW.count { #expect(abs(m.weights[i] - trueW[i]) < 0.1, "w[\(i)] = \(m.weights[i]) vs \(trueW[i])") }
    }

    @Test func linearlySeparableStreamRecoversDirection() {
        let events = logisticStream(n: 50_000, w: trueW, b: trueB, seed: 14, separable: true)
        let m = train(SGD(lr: 0.05), events, interceptRate: .constant(0.05))
        // Separable data has no finite optimum: compare directions (weights and intercept).
        let est = (0..<trueW.count).map { m.weights[$0] } + [m.intercept]
        let tru = trueW + [trueB]
        let dot = zip(est, tru).map(*).reduce(0, +)
        let cosine = dot / (est.map { $0 * $0 }.reduce(0, +).squareRoot() * tru.map { $0 * $0 }.reduce(0, +).squareRoot())
        #expect(cosine > 0.99, "cosine = \(cosine)")
        // And it separates fresh data.
        let test = logisticStream(n: 5_000, w: trueW, b: trueB, seed: 15, separable: true)
        var input = ModelInput(layout: FeatureLayout(numericCount: 4))
        var correct = 0
        for e in test { fillNumeric(&input, e.x); if (m.predict(input) > 0.5 ? 1.0 : 0.0) == e.y { correct += 1 } }
        #expect(Double(correct) / 5_000 > 0.98)
    }

    @Test func linearRegressionConverges() {
        var rng = SeededGeneratorBox(seed: 16)
        var events = [SynthEvent]()
        for _ in 0..<100_000 {
            let x = trueW.map { _ in rng.gaussian() }
            var y = trueB
            for i in 0..<4 { y += trueW[i] * x[i] }
            events.append(SynthEvent(x: x, y: y + 0.1 * rng.gaussian()))
        }
        let m = train(SGD(lr: 0.005), events, task: .linear, interceptRate: .constant(0.005))
        for i in 0..<4 { #expect(abs(m.weights[i] - trueW[i]) < 0.02, "w[\(i)] = \(m.weights[i])") }
        #expect(abs(m.intercept - trueB) < 0.02)
        // Windowed MAE/RMSE of the converged model ≈ the noise (σ = 0.1: MAE ≈ 0.08, RMSE ≈ 0.1).
        var metrics = WindowedRegressionMetrics(mode: .sliding(5_000))
        var input = ModelInput(layout: FeatureLayout(numericCount: 4))
        for e in events.suffix(5_000) { fillNumeric(&input, e.x); metrics.update(p: m.predict(input), y: e.y) }
        #expect(abs(metrics.rmse - 0.1) < 0.01, "rmse \(metrics.rmse)")
        #expect(abs(metrics.mae - 0.1 * (2 / Double.pi).squareRoot()) < 0.01, "mae \(metrics.mae)")
    }
}

import WeirTestSupport
struct SeededGeneratorBox {
    var g: SeededGenerator
    init(seed: UInt64) { g = SeededGenerator(seed: seed) }
    mutating func gaussian() -> Double { g.nextGaussian() }
}
