/// A topology as declared in a YAML file, parsed and validated: what to read, how to decode it,
/// which features to compute, the model, the drift monitors, the gate and where outputs go.
///
/// Every field has a default where one makes sense, so a short file works. Values carry the
/// position they were declared at (``SourceLocation``) so later stages can report errors there.
public struct TopologySpec: Sendable, Equatable {
    public var name: String
    public var description: String?
    public var source: SourceSpec
    public var schema: [FieldDeclaration]
    public var features: [FeatureDeclaration]
    public var model: ModelSpec?
    public var drift: DriftDeclaration?
    public var sinks: SinksSpec
    public var processing: ProcessingSpec
    /// Limits on keyed state (`state:`).
    public var state = StateSpec()
    /// The file the spec came from (for messages).
    public var file: String

    public init(name: String, description: String?, source: SourceSpec, schema: [FieldDeclaration],
                features: [FeatureDeclaration], model: ModelSpec?, drift: DriftDeclaration?, sinks: SinksSpec,
                processing: ProcessingSpec, state: StateSpec = StateSpec(), file: String) {
        self.name = name; self.description = description; self.source = source; self.schema = schema
        self.features = features; self.model = model; self.drift = drift; self.sinks = sinks
        self.processing = processing; self.state = state; self.file = file
    }
}

/// Limits on keyed state (`state:` in a topology).
///
/// `memory_limit` is the budget for the window state in use (live windows, their sketches,
/// keys and timers, summed over windows; freed room is reused before the state grows, so the
/// held `weir_window_state_bytes` stays near the peak in use). Past 80% of it the run reports pressure; at 100% new keys
/// are refused (their window features read 0, counted as rejected-key events) until the state
/// falls below 90%; keys already held keep working. Nil: no budget (only `processing.max_keys`).
public struct StateSpec: Sendable, Equatable {
    public var memoryLimitBytes: Int?
    public init(memoryLimitBytes: Int? = nil) { self.memoryLimitBytes = memoryLimitBytes }
}

/// A position in a topology file (1-based line and column).
public struct SourceLocation: Sendable, Equatable, Hashable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int
    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }
    public var description: String { "\(file):\(line):\(column)" }
}

/// Where events come from and how event time is read.
public struct SourceSpec: Sendable, Equatable {
    public var topics: [String]
    /// Only `json` today.
    public var format: String
    /// The field events are keyed by (also the Kafka message key when producing).
    public var keyField: String?
    public var eventTimeField: String?
    public var eventTimeFormat: EventTimeFormat
    /// Bounded out-of-orderness of event time, in milliseconds.
    public var outOfOrdernessMs: Int64
    /// A partition with no events for this long stops holding the watermark back.
    public var idlenessMs: Int64
    /// Windows accept late events this long after they fire, re-emitting their result.
    public var allowedLatenessMs: Int64
    /// Use processing time instead of event time.
    public var processingTime: Bool
    public var location: SourceLocation?
    /// Where `key` and the event-time field are declared, for messages about them.
    public var keyLocation: SourceLocation?
    public var eventTimeLocation: SourceLocation?
    /// Where `topics` (or `topic`) is given.
    public var topicsLocation: SourceLocation?
    /// The order `weir run` hands records of different partitions to the pipeline.
    public var order: SourceOrder = .arrival
}

/// How `weir run` interleaves the source's partitions.
public enum SourceOrder: String, Sendable, Equatable, CaseIterable {
    /// Merged in Kafka message-timestamp order (ties by partition), whatever order the client
    /// fetched them in: every run, restart and replay of the same log sees the same sequence.
    case timestamp
    /// As fetched (librdkafka's interleaving of partitions; lowest latency, order varies by run).
    case arrival
}

public enum EventTimeFormat: String, Sendable, Equatable, CaseIterable {
    case epochMillis = "epoch_millis"
    case iso8601
}

/// One field of the event schema.
public struct FieldDeclaration: Sendable, Equatable {
    public enum FieldType: String, Sendable, Equatable, CaseIterable {
        case double, int, bool, string, category, timestamp
        public var isNumeric: Bool { self == .double || self == .int || self == .timestamp || self == .bool }
    }
    public var name: String
    public var type: FieldType
    public var required: Bool
    public var min: Double?
    public var max: Double?
    /// Allowed categories; nil means any category is accepted (and new ones are reported by drift).
    public var categories: [String]?
    public var location: SourceLocation?
}

/// A window over event time (or event count).
public enum WindowDeclaration: Sendable, Equatable {
    case tumbling(sizeMs: Int64, offsetMs: Int64)
    case hopping(sizeMs: Int64, hopMs: Int64)
    /// The last `sizeMs` ending at each event.
    case sliding(sizeMs: Int64)
    /// Events closer than `gapMs` belong to one session; touching sessions merge.
    case session(gapMs: Int64)
    /// Every `events` events.
    case count(events: Int)
}

/// Aggregations a windowed feature can compute.
public enum AggregationKind: String, Sendable, Equatable, CaseIterable {
    case count, sum, mean, variance, stddev, min, max, first, last, ewma
    case distinctCount = "distinct_count"
    case quantile
    case topK = "top_k"

    /// Aggregations that need a numeric `field`.
    public var needsNumericField: Bool {
        switch self {
        case .count, .distinctCount, .topK: return false
        default: return true
        }
    }
}

/// A feature: a windowed aggregate per key, an expression on the event, or a one-hot category.
public struct FeatureDeclaration: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case windowed(window: WindowDeclaration, by: String?, aggregate: AggregationKind, field: String?, parameter: Double?)
        case expression(Expression)
        /// One input per category; `categories` is required when the field's set is open.
        case oneHot(field: String, categories: [String]?)
    }
    public var name: String
    public var kind: Kind
    /// Windowed features only: emit the window's results to the `windows` sink when it fires.
    public var emit: Bool = false
    public var location: SourceLocation?
}

/// The online model.
public struct ModelSpec: Sendable, Equatable {
    public enum ModelType: String, Sendable, Equatable, CaseIterable { case logistic, linear }
    public enum Optimizer: String, Sendable, Equatable, CaseIterable { case sgd, adagrad, ftrl }
    public enum Labels: Sendable, Equatable {
        /// The label is a field of the event (absent on unlabelled events).
        case field(String)
        /// Labels arrive on their own topic, keyed by an event id field, within a bounded wait.
        case topic(topic: String, idField: String, labelField: String, maxWaitMs: Int64)
    }
    public var type: ModelType
    public var labels: Labels
    /// The label topic (`label_topic.topic`), when labels come on their own topic.
    public var labelTopic: String? {
        if case .topic(let topic, _, _, _) = labels { return topic }
        return nil
    }
    public var inputs: [String]
    /// Where each input is declared, parallel to `inputs`.
    public var inputLocations: [SourceLocation]
    public var optimizer: Optimizer
    public var learningRate: Double
    public var interceptLearningRate: Double?
    public var l1: Double
    public var l2: Double
    /// Standardise numeric inputs online before the model sees them.
    public var standardize: Bool
    /// Accuracy counts p = 0.5 as predicting 1 (the workload contract's rule; River's is p > 0.5).
    public var positiveAtHalf: Bool = false
    /// Score records carry the model input as scored (`features`, in `inputs` order after one-hot
    /// expansion and standardisation).
    public var emitFeatures: Bool = false
    /// Schema fields copied into every score record under their own names (`model.carry`), so a
    /// consumer can join scores to its own ids; an absent optional field's key is left out.
    public var carry: [String] = []
    /// Where each carried field is named, parallel to `carry`.
    public var carryLocations: [SourceLocation] = []
    /// The keys every score record may already hold; a carried field may not use one.
    public static let scoreRecordKeys: Set<String> = ["key", "event_time", "score", "label", "features", "model_id",
                                                      "model_version", "topic", "partition", "offset"]
    public var retraining: RetrainingSpec?
    public var location: SourceLocation?
}

/// Champion/challenger retraining when the gate asks for it.
public struct RetrainingSpec: Sendable, Equatable {
    /// Labelled events kept to train a challenger.
    public var bufferEvents: Int
    /// Labelled events the challenger runs in shadow before a decision.
    public var shadowEvents: Int
    /// Promote when the challenger's log loss is lower by at least this fraction.
    public var margin: Double
}

/// Drift monitoring and the retraining gate.
public struct DriftDeclaration: Sendable, Equatable {
    public enum Reference: Sendable, Equatable {
        case firstEvents(Int)
        case previousWindow
        case profile(path: String)
    }
    public struct Monitor: Sendable, Equatable {
        /// A schema field, a feature, or `score` (the model's prediction).
        public var field: String
        public var categorical: Bool
        public var location: SourceLocation?
    }
    public enum Mode: String, Sendable, Equatable, CaseIterable {
        /// Monitors, quality figures and the gate (drift, alert and retrain-request records).
        case standard
        /// The benchmark workload contract exactly: PSI on reference deciles and KS per window,
        /// drift = PSI > gate.psi or KS p < gate.ks_pvalue, an alert when a run of drifted windows
        /// reaches gate.consecutive; its own record shapes (see ../shared/bench/README.md).
        case contract
    }
    public var mode: Mode = .standard
    public var reference: Reference
    public var window: WindowDeclaration
    public var bins: Int
    /// Samples kept per window; beyond it, reservoir sampling.
    public var sampleCap: Int
    public var monitors: [Monitor]
    public var gate: GateSpec
    /// The `score` monitor judges no window before the model has learned from this many labels
    /// (`drift.score_warmup_labels`).
    public var scoreWarmupLabels: Int = DriftDeclaration.defaultScoreWarmupLabels
    /// Default of ``scoreWarmupLabels``.
    public static let defaultScoreWarmupLabels = 1_000
    /// Categorical monitors keep at most this many distinct categories apart; further ones, and
    /// names longer than ``maxCategoryLength`` bytes, count in one overflow bin (`drift.max_categories`).
    public var maxCategories: Int = 1_000
    /// `drift.max_category_length`: longest category name (UTF-8 bytes) kept as its own category.
    public var maxCategoryLength: Int = 256
    public var location: SourceLocation?
}

/// When drift becomes an alert and a retrain request.
public struct GateSpec: Sendable, Equatable {
    public enum Rule: String, Sendable, Equatable, CaseIterable {
        /// Drifted when any threshold is crossed (PSI > psi OR KS p < ks_pvalue...).
        case any
        /// Drifted only when every configured threshold is crossed.
        case all
    }
    public var rule: Rule
    public var psi: Double?
    public var ksPValue: Double?
    /// Effect-size floor: KS p-value only counts when the KS statistic exceeds this.
    public var ksMinStatistic: Double?
    public var chi2PValue: Double?
    public var wassersteinNormalized: Double?
    public var jsDistance: Double?
    public var minWindowSize: Int
    public var consecutive: Int
    /// Resolve when PSI falls below this (hysteresis); nil uses the same thresholds.
    public var resolveBelowPSI: Double?
    public var resolveAfterWindows: Int
    public var cooldownWindows: Int
    public var retrain: Bool
    public var location: SourceLocation?
    /// `gate.calibrate: {false_alarm_rate: r}`: thresholds calibrated from the reference for a
    /// false-alarm rate `r` per window across all monitors (replacing the fixed thresholds); nil: fixed.
    public var calibrateFalseAlarmRate: Double? = nil
    /// Where `gate.calibrate` is (for errors).
    public var calibrateLocation: SourceLocation? = nil
}

/// The kinds of sink a topology declares (its `sinks` keys).
public enum SinkKind: String, Sendable, Equatable, Hashable, CaseIterable {
    case scores, features, drift, alerts, retrain, models, late, dlq, windows
}

/// Output topics. Defaults are `<topology name>.<kind>`; a sink set to `null` in the file is
/// disabled (its records are neither built nor written; the dead-letter sink cannot be disabled).
public struct SinksSpec: Sendable, Equatable {
    /// Sinks the topology turned off.
    public var disabled: Set<SinkKind> = []
    public func isEnabled(_ kind: SinkKind) -> Bool { !disabled.contains(kind) }

    public var scores: String
    public var features: String
    public var drift: String
    public var alerts: String
    public var retrain: String
    public var models: String
    public var late: String
    public var deadLetters: String
    public var windows: String

    public static func defaults(for name: String) -> SinksSpec {
        SinksSpec(scores: "\(name).scores", features: "\(name).features", drift: "\(name).drift",
                  alerts: "\(name).alerts", retrain: "\(name).retrain", models: "\(name).models",
                  late: "\(name).late", deadLetters: "\(name).dlq", windows: "\(name).windows")
    }
}

/// Processing guarantees and state limits.
public struct ProcessingSpec: Sendable, Equatable {
    public enum Guarantee: String, Sendable, Equatable, CaseIterable {
        case atLeastOnce = "at_least_once"
        case exactlyOnce = "exactly_once"
    }
    public var guarantee: Guarantee
    public var checkpointIntervalMs: Int64
    public var maxKeys: Int
    /// Every how many checkpoints one is a full image (the others are increments on the one
    /// before); `checkpoint_full_every`, default 10; 1 = every checkpoint full.
    public var checkpointFullEvery: Int = 10

    /// `output_headers`: whether `weir run` with checkpoints tags each output record with the
    /// origin headers consumers drop at-least-once duplicates by (docs/records.md, "Kafka
    /// headers"). Exactly once always tags (its records carry `weir.txn`).
    public enum OutputHeaders: String, Sendable, Equatable, CaseIterable {
        /// `weir.id` (`<source topic>/<partition>/<offset>/<seq>`) and `weir.epoch` (the default).
        case dedup
        /// None: consumers dedup by content. Tagged records cost librdkafka an allocation per
        /// header and record, and the bytes on the wire (benchmarks/RESULTS.md).
        case none
    }
    public var outputHeaders: OutputHeaders = .dedup
}
