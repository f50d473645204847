import Testing
import WeirModel
import WeirTestSupport

@Suite struct SoftmaxRegressionTests {
    let layout = FeatureLayout(numericCount: 2, sparseDimension: 3, sparseCapacity: 1)

    /// Generating model: 3 classes, z_k = W_k·x + b_k.
    let W = [[2.0, 0.0], [-1.0, 1.5], [-1.0, -1.5]]
    let B = [0.2, 0.0, -0.2]

    @Test func learnsAMultinomialStream() {
        var rng = SeededGenerator(seed: 31)
        var m = SoftmaxRegression(classes: 3, config: LinearModelConfig(layout: layout, interceptRate: .constant(0.05)),
                                  optimizer: AdaGrad(.constant(0.2)))
        var x = ModelInput(layout: layout)
        var correctModel = 0, correctBayes = 0, tested = 0
        for i in 0..<60_000 {
            let v = [rng.nextGaussian(), rng.nextGaussian()]
            x.setNumeric(0, v[0]); x.setNumeric(1, v[1])
            var z = [Double](repeating: 0, count: 3)
            for k in 0..<3 { z[k] = W[k][0] * v[0] + W[k][1] * v[1] + B[k] }
            let e = z.map { exp($0 - z.max()!) }
            let u = Double.random(in: 0..<e.reduce(0, +), using: &rng)
            let y = u < e[0] ? 0 : (u < e[0] + e[1] ? 1 : 2)
            if i >= 50_000 {
                tested += 1
                if m.predictClass(x) == y { correctModel += 1 }
                if z.firstIndex(of: z.max()!)! == y { correctBayes += 1 }
            }
            m.learn(x, label: Double(y))
        }
        let accModel = Double(correctModel) / Double(tested), accBayes = Double(correctBayes) / Double(tested)
        #expect(accModel > accBayes - 0.01, "model \(accModel) vs Bayes \(accBayes)")
        // Weight differences between classes are identifiable: compare w_0 − w_1 with W_0 − W_1.
        let d0 = m.weights[0] - m.weights[5], d1 = m.weights[1] - m.weights[6]
        #expect(abs(d0 - 3.0) < 0.3 && abs(d1 - -1.5) < 0.3, "w0−w1 = (\(d0), \(d1))")
    }

    @Test func gradientMatchesFiniteDifference() {
        var m = SoftmaxRegression(classes: 3, config: LinearModelConfig(layout: layout), optimizer: SGD(lr: 0.1))
        var x = ModelInput(layout: layout)
        x.setNumeric(0, 0.3); x.setNumeric(1, -1.2); x.appendSparse(index: 2, value: 1)
        m.learn(x, label: 1); m.learn(x, label: 2)
        let w = m.weights.array, b = m.intercepts
        // Cross-entropy for label 0, computed independently.
        func loss(_ w: [Double]) -> Double {
            var z = [Double](repeating: 0, count: 3)
            for k in 0..<3 {
                let a: Double = w[k * 5] * 0.3
                let c: Double = w[k * 5 + 1] * -1.2
                let d: Double = w[k * 5 + 4]
                z[k] = a + c + d + b[k]
            }
            let lse = log(z.map { exp($0) }.reduce(0, +))
            return lse - z[0]
        }
        m.learn(x, label: 0)
        for j in [0, 1, 4, 5, 6, 9, 10, 11, 14] {
            var wp = w, wm = w
            wp[j] += 1e-6; wm[j] -= 1e-6
            let g = (loss(wp) - loss(wm)) / 2e-6
            #expect(abs(m.weights[j] - (w[j] - 0.1 * g)) < 1e-8, "coordinate \(j)")
        }
        #expect(m.learn(x, label: 3) == .skippedInvalidLabel)
        #expect(m.learn(x, label: 0.5) == .skippedInvalidLabel)
    }
}

#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif
