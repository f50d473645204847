import Testing
import WeirModel
import WeirTestSupport

/// The gradient each optimiser step uses matches a central finite difference of the loss
/// (log loss + lazy L2 on the present coordinates), recomputed here independently.
@Suite struct GradientCheckTests {
    let layout = FeatureLayout(numericCount: 3, sparseDimension: 4, sparseCapacity: 2)

    /// Independent loss: ℓ(w, b) = log(1 + e^{−y±·z}) + (l2/2)·Σ_{j present} w_j².
    func loss(_ w: [Double], _ b: Double, x: [(Int, Double)], y: Double, l2: Double) -> Double {
        var z = b
        for (j, v) in x { z += w[j] * v }
        let ys: Double = y == 1 ? 1 : -1
        var l = log(1 + exp(-ys * z))
        for (j, _) in x { l += l2 / 2 * w[j] * w[j] }
        return l
    }

    /// Central-difference gradient of `loss` for each present coordinate and the intercept (no L2 on b).
    func fdGradient(_ w: [Double], _ b: Double, x: [(Int, Double)], y: Double, l2: Double) -> ([Int: Double], Double) {
        let h = 1e-6
        var g = [Int: Double]()
        for (j, _) in x {
            var wp = w, wm = w
            wp[j] += h; wm[j] -= h
            g[j] = (loss(wp, b, x: x, y: y, l2: l2) - loss(wm, b, x: x, y: y, l2: l2)) / (2 * h)
        }
        let gb = (loss(w, b + h, x: x, y: y, l2: 0) - loss(w, b - h, x: x, y: y, l2: 0)) / (2 * h)
        return (g, gb)
    }

    /// Warms a model up, then takes one step on a fresh event; calls `check` with the pre-step
    /// model, the post-step model, the FD gradients and the event's coordinates.
    func step<O: OnlineOptimizer>(_ opt: O, l2: Double, seed: UInt64,
                                  check: (LinearModel<O>, LinearModel<O>, [Int: Double], Double, [(Int, Double)]) -> Void) {
        var rng = SeededGenerator(seed: seed)
        var m = LinearModel(config: LinearModelConfig(layout: layout, l2: l2), optimizer: opt)
        var input = ModelInput(layout: layout)
        func randomEvent() -> ([(Int, Double)], Double) {
            var x = [(Int, Double)]()
            input.removeAllSparse()
            for i in 0..<3 { let v = rng.nextGaussian(); input.setNumeric(i, v); x.append((i, v)) }
            let k = Int.random(in: 0..<4, using: &rng)
            input.appendSparse(index: Int32(k), value: 1.5)
            x.append((3 + k, 1.5))
            return (x, Double(Int.random(in: 0...1, using: &rng)))
        }
        for _ in 0..<50 { let (_, y) = randomEvent(); m.learn(input, label: y) }
        let (x, y) = randomEvent()
        let before = m
        let (g, gb) = fdGradient(before.weights.array, before.intercept, x: x, y: y, l2: l2)
        m.learn(input, label: y)
        #expect(abs(m.intercept - (before.intercept - 0.01 * gb)) < 1e-8, "intercept step uses dℓ/db")
        check(before, m, g, gb, x)
    }

    @Test(arguments: [0.0, 0.1]) func sgd(l2: Double) {
        step(SGD(lr: 0.05), l2: l2, seed: 1) { before, after, g, _, x in
            for (j, _) in x {
                let expected = before.weights[j] - 0.05 * g[j]!
                #expect(abs(after.weights[j] - expected) < 1e-8, "coordinate \(j)")
            }
        }
    }

    @Test(arguments: [0.0, 0.1]) func adaGrad(l2: Double) {
        step(AdaGrad(), l2: l2, seed: 2) { before, after, g, _, x in
            for (j, _) in x {
                let acc = before.optimizer.g2[j] + g[j]! * g[j]!
                let expected = before.weights[j] - 0.1 / (acc + 1e-8).squareRoot() * g[j]!
                #expect(abs(after.weights[j] - expected) < 1e-7, "coordinate \(j)")
                #expect(abs(after.optimizer.g2[j] - acc) < 1e-7)
            }
        }
    }

    @Test func ftrl() {
        let (alpha, beta, l1, l2) = (0.1, 1.0, 0.01, 0.5)
        step(FTRLProximal(alpha: alpha, beta: beta, l1: l1, l2: l2), l2: 0, seed: 3) { before, after, g, _, x in
            for (j, _) in x {
                let gj = g[j]!, n0 = before.optimizer.n[j], n1 = n0 + gj * gj
                let sigma = (n1.squareRoot() - n0.squareRoot()) / alpha
                let z = before.optimizer.z[j] + gj - sigma * before.weights[j]
                let expected = abs(z) <= l1 ? 0 : -(z - (z < 0 ? -1 : 1) * l1) / ((beta + n1.squareRoot()) / alpha + l2)
                #expect(abs(after.weights[j] - expected) < 1e-7, "coordinate \(j)")
                #expect(abs(after.optimizer.z[j] - z) < 1e-7)
            }
        }
    }

    @Test func squaredLossGradient() {
        // Linear regression: ℓ = (z − y)², dℓ/dz = 2(z − y).
        let layout1 = FeatureLayout(numericCount: 2)
        var m = LinearModel(config: LinearModelConfig(layout: layout1, task: .linear), optimizer: SGD(lr: 0.01))
        var input = ModelInput(layout: layout1)
        input.setNumeric(0, 0.7); input.setNumeric(1, -1.3)
        m.learn(input, label: 2.0)
        let w = m.weights.array, b = m.intercept
        func l(_ w: [Double], _ b: Double) -> Double { let z = w[0] * 0.7 + w[1] * -1.3 + b; return (z - 3.0) * (z - 3.0) }
        let h = 1e-6
        let g0 = (l([w[0] + h, w[1]], b) - l([w[0] - h, w[1]], b)) / (2 * h)
        let g1 = (l([w[0], w[1] + h], b) - l([w[0], w[1] - h], b)) / (2 * h)
        m.learn(input, label: 3.0)
        #expect(abs(m.weights[0] - (w[0] - 0.01 * g0)) < 1e-8)
        #expect(abs(m.weights[1] - (w[1] - 0.01 * g1)) < 1e-8)
    }
}

#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif
