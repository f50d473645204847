import WeirStats

/// What a ``LinearModel`` predicts.
/// - `logistic`: binary classification, `p = σ(w·x + b)`, log loss (labels 0 or 1).
/// - `linear`: regression, `ŷ = w·x + b`, squared loss (gradient `2(ŷ − y)`, as River).
public enum LinearTask: UInt8, Sendable, Equatable {
    case logistic = 0
    case linear = 1
}

/// Configuration of a ``LinearModel``. Defaults are River's `LogisticRegression` defaults.
public struct LinearModelConfig: Sendable, Equatable {
    /// Input shape.
    public var layout: FeatureLayout
    public var task: LinearTask
    /// Lazy sparse L2: `l2·w_j` is added to the gradient of coordinates present in the event only;
    /// never applied to the intercept.
    public var l2: Double
    /// Cumulative L1 penalty (Tsuruoka et al. 2009, as River) applied after each step to the
    /// coordinates present in the event.
    public var l1: Double
    public var interceptInit: Double
    /// Intercept schedule, evaluated at the optimiser's step count before the step. 0 freezes it.
    public var interceptRate: LearningRate
    /// The scalar loss gradient is clipped to `[-clipGradient, clipGradient]`.
    public var clipGradient: Double
    /// Weights (and the intercept) are kept within `[-maxAbsWeight, maxAbsWeight]`: an update
    /// that would leave this range is clamped; one that produces NaN resets the weight to 0
    /// (the intercept keeps its old value); both are counted in `weightClamps`.
    public var maxAbsWeight: Double

    public init(layout: FeatureLayout, task: LinearTask = .logistic, l2: Double = 0, l1: Double = 0,
                interceptInit: Double = 0, interceptRate: LearningRate = .constant(0.01),
                clipGradient: Double = 1e12, maxAbsWeight: Double = 1e15) {
        self.layout = layout
        self.task = task
        self.l2 = l2.isFinite ? max(0, l2) : 0
        self.l1 = l1.isFinite ? max(0, l1) : 0
        self.interceptInit = interceptInit.isFinite ? interceptInit : 0
        self.interceptRate = interceptRate
        self.clipGradient = clipGradient.isNaN ? 1e12 : abs(clipGradient)
        self.maxAbsWeight = maxAbsWeight.isNaN ? 1e15 : abs(maxAbsWeight)
    }
}

extension LinearModelConfig {
    func serialize(into w: inout ByteWriter) {
        w.write(layout.numericCount); w.write(layout.sparseDimension); w.write(layout.sparseCapacity)
        w.write(task.rawValue); w.write(l2); w.write(l1); w.write(interceptInit)
        interceptRate.serialize(into: &w)
        w.write(clipGradient); w.write(maxAbsWeight)
    }

    init(deserializing r: inout ByteReader) throws(SerializationError) {
        let nc = try r.readCount(field: "numericCount"), sd = try r.readCount(field: "sparseDimension")
        let sc = try r.readCount(field: "sparseCapacity")
        let t = try r.readUInt8()
        guard let task = LinearTask(rawValue: t) else { throw .invalidValue(field: "task", detail: "\(t)") }
        let l2 = try r.readDouble(), l1 = try r.readDouble(), b0 = try r.readDouble()
        let ir = try LearningRate(deserializing: &r)
        let clip = try r.readDouble(), maxW = try r.readDouble()
        self.init(layout: FeatureLayout(numericCount: nc, sparseDimension: sd, sparseCapacity: sc), task: task,
                  l2: l2, l1: l1, interceptInit: b0, interceptRate: ir, clipGradient: clip, maxAbsWeight: maxW)
    }
}

/// What one ``LinearModel/learn(_:label:weight:)`` call did.
public enum LearnOutcome: UInt8, Sendable, Equatable {
    /// Weights updated.
    case learned
    /// Weights updated with the loss gradient clipped to `clipGradient`.
    case learnedClipped
    /// Skipped: a feature value is NaN or infinite.
    case skippedInvalidFeature
    /// Skipped: the label is not 0/1 (logistic) or not finite (linear), or the sample weight is
    /// negative or not finite.
    case skippedInvalidLabel
    /// Skipped: the loss gradient was NaN (e.g. the raw score overflowed).
    case skippedInvalidGradient

    /// True when the weights were updated.
    @inlinable public var didLearn: Bool { self == .learned || self == .learnedClipped }
}

/// Training counters of a model.
public struct TrainingCounts: Sendable, Equatable {
    /// Learning steps taken.
    public var learned = 0
    /// Steps whose loss gradient was clipped.
    public var clipped = 0
    public var skippedInvalidFeature = 0
    public var skippedInvalidLabel = 0
    public var skippedInvalidGradient = 0
    /// Weight updates clamped to `maxAbsWeight` or reset because they were NaN.
    public var weightClamps = 0

    public init() {}

    func serialize(into w: inout ByteWriter) {
        w.write(learned); w.write(clipped); w.write(skippedInvalidFeature); w.write(skippedInvalidLabel)
        w.write(skippedInvalidGradient); w.write(weightClamps)
    }

    init(deserializing r: inout ByteReader) throws(SerializationError) {
        learned = try r.readInt(); clipped = try r.readInt(); skippedInvalidFeature = try r.readInt()
        skippedInvalidLabel = try r.readInt(); skippedInvalidGradient = try r.readInt(); weightClamps = try r.readInt()
    }
}
