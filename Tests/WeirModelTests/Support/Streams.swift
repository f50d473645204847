import WeirModel
import WeirTestSupport

/// A labelled synthetic event: numeric features and a 0/1 label.
struct SynthEvent {
    var x: [Double]
    var y: Double
}

func sigmoid(_ z: Double) -> Double { 1 / (1 + exp(-z)) }

/// `n` events with x ~ N(0,1)^d and y ~ Bernoulli(σ(w·x + b)) (or y = [w·x + b > 0] if `separable`).
func logisticStream(n: Int, w: [Double], b: Double, seed: UInt64, separable: Bool = false) -> [SynthEvent] {
    var rng = SeededGenerator(seed: seed)
    var out = [SynthEvent]()
    out.reserveCapacity(n)
    for _ in 0..<n {
        let x = w.map { _ in rng.nextGaussian() }
        var z = b
        for i in 0..<w.count { z += w[i] * x[i] }
        let y: Double = separable ? (z > 0 ? 1 : 0) : (Double.random(in: 0..<1, using: &rng) < sigmoid(z) ? 1 : 0)
        out.append(SynthEvent(x: x, y: y))
    }
    return out
}

func fillNumeric(_ input: inout ModelInput, _ x: [Double]) {
    for i in 0..<x.count { input.setNumeric(i, x[i]) }
    input.removeAllSparse()
}

#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif
