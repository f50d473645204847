import WeirStats

/// How current windows are cut.
public enum WindowSpec: Sendable, Equatable {
    /// Every `n` events (events in which the field was expected: valid, missing, invalid or non-finite).
    case count(Int)
    /// Event-time tumbling windows `[origin + i·width, origin + (i+1)·width)` in ms, closed when the
    /// watermark passed to ``FieldMonitor/advanceWatermark(to:)`` reaches their end.
    case eventTime(width: Int64, origin: Int64 = 0)
}

/// Which data a field's windows are compared against.
public enum ReferenceSpec: Sendable, Equatable {
    /// The first `n` events of the field (valid values among them form the reference).
    case firstEvents(Int)
    /// Events with event time in `[start, end)`; built when the watermark reaches `end`. Events
    /// before `start`, or arriving for the range after it closed, are ignored (``FieldMonitor/ignoredEvents``).
    case eventTimeRange(start: Int64, end: Int64)
    /// A prepared reference (e.g. from a ``ReferenceProfile`` file).
    case fixed(FieldReference, ReferenceInfo)
    /// Each window is compared with the previous window (the first window has no reference).
    case rolling
}

/// A score monitor judged under one fixed model: the monitor keeps the model inputs of its
/// reference events and of each window (``InputSample``s) besides the scores, and when a window
/// closes the caller scores both with the model as it is then
/// (``FieldMonitor/scoreAwaitingWindows(by:_:)``), so the model learning between the reference and the
/// window never looks like drift; only a change of the inputs' distribution (as the model sees
/// it) does. The record names the model state that scored both (`scored_by`).
///
/// Cost at window close: `reference + window` scores (a dot product each: ~13 doubles for the demo)
/// and a sort of the reference scores, besides the usual comparison.
public struct RescoringConfig: Sendable, Equatable {
    /// Doubles per input vector (the model's numeric inputs, one-hot expanded).
    public var dimension: Int
    /// Reference input vectors kept; beyond it a uniform reservoir sample.
    public var referenceCap: Int
    /// Windows closing before the model has learned from this many labels are not judged
    /// (`undefined_reason` "model_warm_up").
    public var warmupLabels: Int

    /// Default reference cap of ``RescoringConfig``: 50,000 vectors (13 doubles: 5.2 MB).
    public static let defaultReferenceCap = 50_000
    /// Default warm-up of ``RescoringConfig``: 1,000 labels.
    public static let defaultWarmupLabels = 1_000

    public init(dimension: Int, referenceCap: Int = RescoringConfig.defaultReferenceCap,
                warmupLabels: Int = RescoringConfig.defaultWarmupLabels) {
        self.dimension = dimension; self.referenceCap = referenceCap; self.warmupLabels = warmupLabels
    }
}

/// Configuration of one monitored field (a feature or a model score).
public struct MonitorConfig: Sendable, Equatable {
    public var feature: String
    public var kind: FieldKind
    public var window: WindowSpec
    public var reference: ReferenceSpec
    /// Numeric values kept per window; beyond it the window is a uniform reservoir sample
    /// (reported in the record's `sampling`).
    public var sampleCap: Int
    /// Raw reference values kept; beyond it the reference is a KLL-sketch quantile grid.
    public var referenceCap: Int
    /// KLL parameter `k` for references past the cap (rank error ≈ 2.296 / k^0.9723).
    public var referenceSketchK: Int
    /// PSI / JS quantile bins of numeric fields.
    public var bins: Int
    /// Finite values outside this range are counted as out of range (and still used).
    public var validRange: ClosedRange<Double>?
    /// The verdict written as `drifted` in each record.
    public var policy: DriftPolicy
    public var options: NumericDriftOptions
    /// Seed of the reservoir sampler (deterministic results).
    public var seed: UInt64
    /// Event-time windows open at once; a new window beyond this force-closes the oldest (values for a
    /// force-closed window, or older than every open window when full, are counted as late).
    public var maxOpenWindows: Int
    /// A score judged under one fixed model (numeric fields only); nil: values judged as fed.
    public var rescoring: RescoringConfig?
    /// Categorical fields: distinct categories the monitor keeps apart (first come, first kept);
    /// values of any further category, and of a category whose name is longer than
    /// ``maxCategoryLength`` UTF-8 bytes, go to one overflow bin (``FieldMonitor/overflowCategoryName``)
    /// and are counted in the quality figures (`category_overflow`). Bounds the monitor's category
    /// counts, its records and their histograms.
    public var maxCategories: Int
    /// Longest category name (UTF-8 bytes) kept as its own category; checked against the names known
    /// when a category is first seen (``FieldMonitor/categoryNames``).
    public var maxCategoryLength: Int
    /// A score monitor under a fixed model (``rescoring``) with a ``ReferenceSpec/fixed(_:_:)``
    /// reference: the reference events' model inputs (e.g. from a ``ReferenceProfile`` file), which
    /// the model re-scores at each window close. Required then (dimension `rescoring.dimension`);
    /// ignored otherwise.
    public var referenceInputs: InputSample?
    /// Thresholds calibrated from the reference for a false-alarm rate (``GateCalibration``) instead
    /// of the policy's fixed ones; count windows and fixed or first-events references only.
    public var calibration: CalibrationConfig?

    /// Default of ``maxCategories``: 1,000.
    public static let defaultMaxCategories = 1_000
    /// Default of ``maxCategoryLength``: 256 bytes.
    public static let defaultMaxCategoryLength = 256

    public init(feature: String, kind: FieldKind = .numeric, window: WindowSpec = .count(10_000),
                reference: ReferenceSpec = .firstEvents(100_000), sampleCap: Int = 50_000,
                referenceCap: Int = 1_000_000, referenceSketchK: Int = 400, bins: Int = 10,
                validRange: ClosedRange<Double>? = nil, policy: DriftPolicy = DriftPolicy(),
                options: NumericDriftOptions = NumericDriftOptions(), seed: UInt64 = 0x5EED_D51F,
                maxOpenWindows: Int = 16, rescoring: RescoringConfig? = nil,
                maxCategories: Int = MonitorConfig.defaultMaxCategories,
                maxCategoryLength: Int = MonitorConfig.defaultMaxCategoryLength,
                referenceInputs: InputSample? = nil, calibration: CalibrationConfig? = nil) {
        self.feature = feature; self.kind = kind; self.window = window; self.reference = reference
        self.sampleCap = sampleCap; self.referenceCap = referenceCap; self.referenceSketchK = referenceSketchK
        self.bins = bins; self.validRange = validRange; self.policy = policy; self.options = options
        self.seed = seed; self.maxOpenWindows = maxOpenWindows; self.rescoring = rescoring
        self.maxCategories = maxCategories; self.maxCategoryLength = maxCategoryLength
        self.referenceInputs = referenceInputs
        self.calibration = calibration
    }
}

/// Invalid monitor configuration; says which field and what.
public enum MonitorError: Error, Equatable {
    case invalidConfig(feature: String, detail: String)
}
