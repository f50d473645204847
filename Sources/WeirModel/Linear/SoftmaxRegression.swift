/// Multinomial logistic (softmax) regression over `classes` labels `0..<classes`, generic over
/// the optimiser (one shared optimiser whose per-coordinate state covers all classes).
///
/// `z_k = w_k·x + b_k`, `p = softmax(z)`; cross-entropy gradient `g_k = p_k − [y = k]` (each clipped
/// to `±clipGradient`), then per class the same step as ``LinearModel``: intercept
/// `b_k ← b_k − η_b·g_k`, lazy L2 on present coordinates, optimiser update, weights kept within
/// `±maxAbsWeight`. River's `SoftmaxRegression` is this with `interceptRate: .constant(0)`
/// (River has no intercept) and one optimiser per class.
/// - Complexity: O(classes · (numericCount + sparseCount)) per score or learn; never allocates
///   after init except for the first learn after a copy.
public struct SoftmaxRegression<O: OnlineOptimizer>: Sendable, Equatable {
    public let config: LinearModelConfig
    public let classes: Int
    /// Class `k`'s weights are `weights[k·dimension ..< (k+1)·dimension]`.
    public private(set) var weights: DoubleStorage
    public private(set) var intercepts: [Double]
    public private(set) var optimizer: O
    public private(set) var counts = TrainingCounts()
    var scratch: [Double]

    /// `classes` is clamped to at least 2. `config.task` and `config.l1` are ignored.
    public init(classes: Int, config: LinearModelConfig, optimizer: O) {
        self.classes = max(2, classes)
        self.config = config
        let dim = config.layout.dimension
        weights = DoubleStorage(count: self.classes * dim)
        intercepts = Array(repeating: config.interceptInit, count: self.classes)
        var o = optimizer
        o.resize(dimension: self.classes * dim)
        self.optimizer = o
        scratch = Array(repeating: 0, count: self.classes)
    }

    func raw(_ k: Int, _ x: ModelInput) -> Double {
        let w = weights.pointer + k * config.layout.dimension
        var s = intercepts[k]
        for i in 0..<min(config.layout.numericCount, x.numeric.count) { s += w[i] * x.numeric[i] }
        let off = config.layout.numericCount
        for k in 0..<x.sparseCount where x.sparseIndices[k] >= 0 && Int(x.sparseIndices[k]) < config.layout.sparseDimension {
            s += w[off + Int(x.sparseIndices[k])] * x.sparseValues[k]
        }
        return s
    }

    /// Writes the class probabilities for `x` into `out` (resized to `classes` only if needed).
    /// Non-finite scores give the uniform distribution.
    public func predictProba(_ x: ModelInput, into out: inout [Double]) {
        if out.count != classes { out = Array(repeating: 0, count: classes) }
        var m = -Double.infinity
        for k in 0..<classes { out[k] = raw(k, x); m = max(m, out[k]) }
        guard m.isFinite else { for k in 0..<classes { out[k] = 1 / Double(classes) }; return }
        var sum = 0.0
        for k in 0..<classes { out[k] = _exp(out[k] - m); sum += out[k] }
        for k in 0..<classes { out[k] /= sum }
    }

    /// The most probable class (ties to the lowest index).
    public func predictClass(_ x: ModelInput) -> Int {
        var best = 0, bestZ = -Double.infinity
        for k in 0..<classes { let z = raw(k, x); if z > bestZ { bestZ = z; best = k } }
        return best
    }

    /// One cross-entropy step on `(x, y)`; `y` must be an integer in `0..<classes`.
    @discardableResult
    public mutating func learn(_ x: ModelInput, label y: Double) -> LearnOutcome {
        guard y.isFinite, y >= 0, y < Double(classes), y == y.rounded() else {
            counts.skippedInvalidLabel += 1; return .skippedInvalidLabel
        }
        guard x.isFinite else { counts.skippedInvalidFeature += 1; return .skippedInvalidFeature }
        var p = scratch
        scratch = []
        defer { scratch = p }
        predictProba(x, into: &p)
        let label = Int(y)
        let dim = config.layout.dimension, nc = min(config.layout.numericCount, x.numeric.count)
        let clip = config.clipGradient, maxW = config.maxAbsWeight, l2 = config.l2
        let t = optimizer.iterations
        var outcome = LearnOutcome.learned
        let rate = optimizer.beginStep()
        weights.makeUnique()
        var clamps = 0
        for k in 0..<classes {
            var g = p[k] - (k == label ? 1 : 0)
            if g > clip { g = clip; outcome = .learnedClipped } else if g < -clip { g = -clip; outcome = .learnedClipped }
            let nb = intercepts[k] - config.interceptRate.rate(at: t) * g
            if abs(nb) <= maxW { intercepts[k] = nb } else { clamps += 1 }
            let base = k * dim
            let w = weights.pointer + base
            func step(_ j: Int, _ v: Double) {
                let nw = optimizer.update(base + j, weight: w[j], gradient: v * g + l2 * w[j], rate: rate)
                if abs(nw) <= maxW { w[j] = nw } else { clamps += 1; w[j] = nw.isNaN ? 0 : (nw < 0 ? -maxW : maxW) }
            }
            for j in 0..<nc { step(j, x.numeric[j]) }
            for s in 0..<x.sparseCount where x.sparseIndices[s] >= 0 && Int(x.sparseIndices[s]) < config.layout.sparseDimension {
                step(config.layout.numericCount + Int(x.sparseIndices[s]), x.sparseValues[s])
            }
        }
        optimizer.endStep()
        if outcome == .learnedClipped { counts.clipped += 1 }
        counts.weightClamps += clamps
        counts.learned += 1
        return outcome
    }
}
