import Testing
import WeirModel

/// Linear regression parity with River 0.26.1 `LinearRegression(optimizer=SGD(0.01))`.
@Suite struct RiverLinearRegressionParityTests {
    @Test func everyPredictionMatchesRiver() throws {
        let text = try fixtureText("model_river_linreg.csv")
        let layout = FeatureLayout(numericCount: 3, sparseDimension: 4, sparseCapacity: 1)
        var m = LinearModel(config: LinearModelConfig(layout: layout, task: .linear), optimizer: SGD(lr: 0.01))
        var x = ModelInput(layout: layout)
        var worst = 0.0, rows = 0
        for line in text.split(separator: "\n").dropFirst() {
            let f = line.split(separator: ",").map { Double($0)! }
            x.setNumeric(0, f[0]); x.setNumeric(1, f[1]); x.setNumeric(2, f[2])
            x.removeAllSparse(); x.appendSparse(index: Int32(f[3]))
            let p = m.predict(x)
            worst = max(worst, abs(p - f[5]))
            m.learn(x, label: f[4])
            rows += 1
        }
        #expect(rows == 10_000)
        #expect(worst <= 1e-9, "max |Weir − River| = \(worst)")
    }
}
