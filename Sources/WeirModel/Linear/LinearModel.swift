import WeirStats

/// An online linear model (logistic or linear regression) over a ``ModelInput``, generic over
/// its optimiser so the per-event path is fully specialised.
///
/// Scoring is `z = Σ w_j·x_j + b` over the numeric block then the sparse entries, in order.
/// Learning follows River's `GLM._fit` step for step: loss gradient `g` with the ±18 asymptotes
/// (logistic), scaled by the sample weight, clipped as a scalar; intercept `b ← b − η_b(t)·g`
/// with `t` the optimiser's step count *before* the step; per present coordinate
/// `G_j = x_j·g + l2·w_j` and the optimiser's update; then the cumulative L1 penalty.
/// Invariants: weights and intercept are always finite and within `maxAbsWeight`.
/// - Complexity: O(numericCount + sparseCount) per score or learn; never allocates once the
///   model is uniquely owned (the first learn after a copy copies the weights).
public struct LinearModel<O: OnlineOptimizer>: Sendable, Equatable {
    public let config: LinearModelConfig
    /// Weights, `config.layout.dimension` of them.
    @inlinable public var weights: DoubleStorage { _weights }
    @inlinable public var intercept: Double { _intercept }
    /// The optimiser and its per-coordinate state.
    @inlinable public var optimizer: O { _optimizer }
    @inlinable public var counts: TrainingCounts { _counts }
    @usableFromInline var _weights: DoubleStorage
    @usableFromInline var _intercept: Double
    @usableFromInline var _optimizer: O
    @usableFromInline var _counts = TrainingCounts()
    @usableFromInline var cumL1: DoubleStorage
    @usableFromInline var maxCumL1 = 0.0

    /// A fresh model with zero weights.
    public init(config: LinearModelConfig, optimizer: O) {
        self.config = config
        _weights = DoubleStorage(count: config.layout.dimension)
        _intercept = config.interceptInit
        var o = optimizer
        o.resize(dimension: config.layout.dimension)
        _optimizer = o
        cumL1 = DoubleStorage(count: config.l1 > 0 ? config.layout.dimension : 0)
    }

    /// The raw score `w·x + b` (logit or regression value).
    @inlinable @inline(__always) public func rawScore(_ x: ModelInput) -> Double {
        let w = weights.pointer
        let nc = min(config.layout.numericCount, x.numeric.count)
        // Four independent partial sums over the numeric block, then the sparse entries in order.
        var s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0
        x.numeric.withUnsafeBufferPointer { xs in
            let x0 = xs.baseAddress!
            var i = 0
            while i + 4 <= nc {
                s0 += w[i] * x0[i]; s1 += w[i + 1] * x0[i + 1]; s2 += w[i + 2] * x0[i + 2]; s3 += w[i + 3] * x0[i + 3]
                i += 4
            }
            while i < nc { s0 += w[i] * x0[i]; i += 1 }
        }
        var s = (s0 + s1) + (s2 + s3)
        let off = config.layout.numericCount, sd = UInt32(truncatingIfNeeded: config.layout.sparseDimension)
        x._sparseIndices.withUnsafeBufferPointer { idx in
            x._sparseValues.withUnsafeBufferPointer { vals in
                // Indices outside this model's sparse space (an input built for another layout)
                // are ignored, never read out of bounds.
                for k in 0..<x._sparseCount where UInt32(bitPattern: idx[k]) < sd { s += w[off &+ Int(idx[k])] * vals[k] }
            }
        }
        return s + intercept
    }

    /// Probability of label 1 (logistic) or the predicted value (linear). Never NaN: a NaN raw
    /// score (only possible from non-finite features) gives 0.5 (logistic) or 0 (linear).
    @inlinable public func predict(_ x: ModelInput) -> Double { link(rawScore(x)) }

    /// The mean function: River's clamped sigmoid (0 below −30, 1 above 30) or identity.
    @inlinable public func link(_ z: Double) -> Double {
        switch config.task {
        case .logistic:
            if z.isNaN { return 0.5 }
            if z < -30 { return 0 }
            if z > 30 { return 1 }
            return 1 / (1 + _exp(-z))
        case .linear:
            return z.isNaN ? 0 : z
        }
    }

    /// Gradient of the loss with respect to the raw score `z`.
    @inlinable public func lossGradient(label y: Double, rawScore z: Double) -> Double {
        switch config.task {
        case .logistic:
            let ys: Double = y == 0 ? -1 : 1
            let m = z * ys
            if m > 18 { return _exp(-m) * -ys }
            if m < -18 { return -ys }
            return -ys / (_exp(m) + 1)
        case .linear:
            return 2 * (z - y)
        }
    }

    /// Test-then-train in one call: returns the prediction for `x` made *before* learning from
    /// `(x, y)`, then learns. Computes the dot product and `exp` once (logistic: the gradient is
    /// derived from `e = exp(−z)`, equal to River's formula up to rounding, ~1e-16).
    @inlinable @discardableResult
    public mutating func predictThenLearn(_ x: ModelInput, label y: Double, weight s: Double = 1) -> Double {
        let z = rawScore(x)
        guard config.task == .logistic else {
            learn(x, label: y, weight: s, rawScore: z)
            return link(z)
        }
        let (p, g) = probabilityAndGradient(label: y, rawScore: z)
        _ = learn(x, label: y, weight: s, rawScore: z, lossGradient: g)
        return p
    }

    /// Logistic task: the probability `link(z)` and the loss gradient for label `y` from one
    /// `exp(−z)` (equal to ``link(_:)`` and ``lossGradient(label:rawScore:)`` up to rounding).
    @inlinable public func probabilityAndGradient(label y: Double, rawScore z: Double) -> (p: Double, g: Double) {
        let e = _exp(-z)
        let p: Double = z.isNaN ? 0.5 : (z < -30 ? 0 : (z > 30 ? 1 : 1 / (1 + e)))
        let g: Double
        if y == 1 {
            g = z > 18 ? -e : (z < -18 ? -1 : -e / (1 + e))
        } else {
            g = z < -18 ? 1 / e : (z > 18 ? 1 : 1 / (e + 1))
        }
        return (p, g)
    }

    /// One learning step on `(x, y)` with sample weight `s`. Bad input is skipped and counted.
    @inlinable @discardableResult
    public mutating func learn(_ x: ModelInput, label y: Double, weight s: Double = 1) -> LearnOutcome {
        learn(x, label: y, weight: s, rawScore: rawScore(x))
    }

    /// Like ``learn(_:label:weight:)`` with the raw score already known (the weights must not
    /// have changed since it was computed): saves a dot product in score-then-learn.
    @inlinable @discardableResult
    public mutating func learn(_ x: ModelInput, label y: Double, weight s: Double = 1, rawScore z: Double) -> LearnOutcome {
        learn(x, label: y, weight: s, rawScore: z, lossGradient: lossGradient(label: y, rawScore: z))
    }

    /// One learning step with the raw score and loss gradient already known (`lg` must be
    /// ``lossGradient(label:rawScore:)`` of `z`, or the `g` of ``probabilityAndGradient(label:rawScore:)``).
    @inlinable @inline(__always)
    public mutating func learn(_ x: ModelInput, label y: Double, weight s: Double, rawScore z: Double,
                               lossGradient lg: Double) -> LearnOutcome {
        switch config.task {
        case .logistic:
            guard y == 0 || y == 1 else { _counts.skippedInvalidLabel += 1; return .skippedInvalidLabel }
        case .linear:
            guard y.isFinite else { _counts.skippedInvalidLabel += 1; return .skippedInvalidLabel }
        }
        guard s.isFinite, s >= 0 else { _counts.skippedInvalidLabel += 1; return .skippedInvalidLabel }
        // A non-finite feature always makes the raw score non-finite (w·inf is ±inf or NaN), so the
        // full scan is only needed when z is not finite.
        if !z.isFinite && !x.isFinite { _counts.skippedInvalidFeature += 1; return .skippedInvalidFeature }
        var g = lg * s
        guard !g.isNaN else { _counts.skippedInvalidGradient += 1; return .skippedInvalidGradient }
        var outcome = LearnOutcome.learned
        let clip = config.clipGradient
        if g > clip { g = clip; outcome = .learnedClipped } else if g < -clip { g = -clip; outcome = .learnedClipped }
        if outcome == .learnedClipped { _counts.clipped += 1 }

        let maxW = config.maxAbsWeight
        let newB = _intercept - config.interceptRate.rate(at: _optimizer.iterations) * g
        if abs(newB) <= maxW { _intercept = newB } else {
            _counts.weightClamps += 1
            if !newB.isNaN { _intercept = newB < 0 ? -maxW : maxW }
        }

        let rate = _optimizer.beginStep()
        _weights.makeUnique()
        let w = _weights.pointer
        let l2 = config.l2
        let nc = min(config.layout.numericCount, x.numeric.count)
        var clamps = 0
        x.numeric.withUnsafeBufferPointer { xs in
            let x0 = xs.baseAddress!
            clamps += _optimizer.updateDense(weights: w, x: x0, count: nc, g: g, l2: l2, rate: rate, maxAbs: maxW)
        }
        let off = config.layout.numericCount, sd = UInt32(truncatingIfNeeded: config.layout.sparseDimension)
        x._sparseIndices.withUnsafeBufferPointer { idx in
            x._sparseValues.withUnsafeBufferPointer { vals in
                for k in 0..<x._sparseCount where UInt32(bitPattern: idx[k]) < sd {
                    let j = off &+ Int(idx[k])
                    let wj = w[j]
                    let nw = _optimizer.update(j, weight: wj, gradient: vals[k] * g + l2 * wj, rate: rate)
                    if abs(nw) <= maxW { w[j] = nw } else { clamps += 1; w[j] = nw.isNaN ? 0 : (nw < 0 ? -maxW : maxW) }
                }
            }
        }
        _optimizer.endStep()
        if config.l1 > 0 { applyCumulativeL1(x, rate: rate) }
        _counts.weightClamps += clamps
        _counts.learned += 1
        return outcome
    }

    @usableFromInline mutating func applyCumulativeL1(_ x: ModelInput, rate: Double) {
        maxCumL1 += config.l1 * rate
        cumL1.makeUnique()
        let w = _weights.pointer, c = cumL1.pointer
        func apply(_ j: Int) {
            let t = w[j]
            if t > 0 { w[j] = max(0, t - (maxCumL1 + c[j])) } else if t < 0 { w[j] = min(0, t + (maxCumL1 - c[j])) }
            c[j] += w[j] - t
        }
        for j in 0..<min(config.layout.numericCount, x.numeric.count) { apply(j) }
        for k in 0..<x._sparseCount where Int(x.sparseIndices[k]) < config.layout.sparseDimension && x.sparseIndices[k] >= 0 {
            apply(config.layout.numericCount + Int(x.sparseIndices[k]))
        }
    }

    /// The loss of prediction `p` (from ``predict(_:)``) for label `y`: log loss with `p` clamped to
    /// `[1e-15, 1 − 1e-15]` (River's `LogLoss`), or squared error.
    @inlinable public func loss(prediction p: Double, label y: Double) -> Double {
        switch config.task {
        case .logistic: return binaryLogLoss(p: p, y: y)
        case .linear: return (p - y) * (p - y)
        }
    }
}

/// River's binary log loss: `p` clamped to `[1e-15, 1 − 1e-15]`; `y` is 1 or not 1.
@inlinable public func binaryLogLoss(p: Double, y: Double) -> Double {
    let q = p.isNaN ? 0.5 : min(max(p, 1e-15), 1 - 1e-15)
    return y == 1 ? -_log(q) : -_log(1 - q)
}
