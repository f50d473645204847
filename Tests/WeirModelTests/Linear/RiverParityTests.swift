import Testing
import WeirModel

/// Parity with River 0.26.1 on a 50,000-event fixture stream.
@Suite struct RiverParityTests {
    /// Runs prequential score-then-learn and returns (predictions, metrics).
    func run<O: OnlineOptimizer>(_ opt: O, rows: [ParityRow]) -> ([Double], PrequentialMetrics) {
        var model = LinearModel(config: LinearModelConfig(layout: parityLayout), optimizer: opt)
        var input = ModelInput(layout: parityLayout)
        var metrics = PrequentialMetrics()
        var preds = [Double]()
        preds.reserveCapacity(rows.count)
        for r in rows {
            fill(&input, r)
            let p = model.predict(input)
            preds.append(p)
            metrics.update(p: p, y: r.y)
            model.learn(input, label: r.y)
        }
        return (preds, metrics)
    }

    @Test func sgdMatchesEveryRiverPrediction() throws {
        let rows = try loadParityRows()
        #expect(rows.count >= 50_000)
        let (preds, metrics) = run(SGD(lr: 0.01), rows: rows)
        var worst = 0.0, worstAt = -1
        for (i, r) in rows.enumerated() where abs(preds[i] - r.pSGD) > worst { worst = abs(preds[i] - r.pSGD); worstAt = i }
        print("sgd parity: max |Weir − River| = \(worst)")
        #expect(worst <= 1e-9, "max |Weir − River| = \(worst) at event \(worstAt)")
        let river = try #require(try loadParitySummary()["sgd"])
        #expect(abs(metrics.logLoss - river.0) <= 1e-9)
        #expect(abs(metrics.accuracy - river.1) <= 1e-12)
    }

    @Test func adaGradLogLossWithinTwoPercentOfRiver() throws {
        let rows = try loadParityRows()
        let (_, metrics) = run(AdaGrad(), rows: rows)
        let river = try #require(try loadParitySummary()["adagrad"])
        print("parity log loss: Weir \(metrics.logLoss) River \(river.0); accuracy Weir \(metrics.accuracy) River \(river.1)")
        #expect(metrics.logLoss <= river.0 * 1.02, "Weir \(metrics.logLoss) vs River \(river.0)")
    }

    @Test func ftrlLogLossWithinTwoPercentOfRiver() throws {
        let rows = try loadParityRows()
        let (_, metrics) = run(FTRLProximal(), rows: rows)
        let river = try #require(try loadParitySummary()["ftrl"])
        print("parity log loss: Weir \(metrics.logLoss) River \(river.0); accuracy Weir \(metrics.accuracy) River \(river.1)")
        #expect(metrics.logLoss <= river.0 * 1.02, "Weir \(metrics.logLoss) vs River \(river.0)")
    }
}

/// River's lazy sparse L2 and cumulative L1 penalty, event by event (first 10,000 parity rows).
@Suite struct RiverRegularisationParityTests {
    @Test(arguments: ["l2", "l1"]) func matchesRiver(penalty: String) throws {
        let rows = try loadParityRows().prefix(10_000)
        let ref = try fixtureText("model_river_regularised.csv").split(separator: "\n").dropFirst()
            .map { $0.split(separator: ",").map { Double($0)! } }
        #expect(ref.count == 10_000)
        let cfg = penalty == "l2" ? LinearModelConfig(layout: parityLayout, l2: 0.01) : LinearModelConfig(layout: parityLayout, l1: 0.001)
        var m = LinearModel(config: cfg, optimizer: SGD(lr: 0.01))
        var input = ModelInput(layout: parityLayout)
        var worst = 0.0
        for (i, r) in rows.enumerated() {
            fill(&input, r)
            worst = max(worst, abs(m.predict(input) - ref[i][penalty == "l2" ? 0 : 1]))
            m.learn(input, label: r.y)
        }
        #expect(worst <= 1e-9, "\(penalty): max |Weir − River| = \(worst)")
    }
}
