import WeirModel
import WeirStats
import WeirTopology

/// The topology's model, one concrete learner per optimiser (an enum, so scoring is statically
/// dispatched: no existential per event).
///
/// Binary logistic models run through ``OnlineLearner`` (prequential metrics, concept-drift
/// detection on the loss, champion/challenger retraining). Linear regression is not wired into
/// the runtime yet and is rejected by ``init(spec:dimension:topologyName:)``.
public enum ModelStage: Sendable {
    case sgd(OnlineLearner<SGD, OptionalLossDetector>)
    case adagrad(OnlineLearner<AdaGrad, OptionalLossDetector>)
    case ftrl(OnlineLearner<FTRLProximal, OptionalLossDetector>)

    public enum SetupError: Error, CustomStringConvertible {
        case unsupported(String)
        public var description: String { switch self { case .unsupported(let s): return s } }
    }

    public init(spec: ModelSpec, dimension: Int, topologyName: String) throws {
        guard spec.type == .logistic else {
            throw SetupError.unsupported("model type '\(spec.type.rawValue)' is not wired into the runtime yet (logistic only)")
        }
        let layout = FeatureLayout(numericCount: dimension)
        let config = LinearModelConfig(layout: layout, task: .logistic, l2: spec.l2, l1: spec.l1,
                                       interceptRate: .constant(spec.interceptLearningRate ?? spec.learningRate))
        let version = ModelVersion(modelId: topologyName)
        var learnerConfig = OnlineLearnerConfig(standardize: spec.standardize, positiveAtHalf: spec.positiveAtHalf)
        if let r = spec.retraining {
            learnerConfig.retraining.bufferCapacity = r.bufferEvents
            learnerConfig.retraining.minShadowEvents = r.shadowEvents
            learnerConfig.retraining.margin = r.margin
        }
        // Concept-drift detection on the loss only when the topology asks for retraining: a model
        // without `retraining` never replaces itself.
        let detector = OptionalLossDetector(adwin: spec.retraining == nil ? nil : try ADWINLossDetector())
        switch spec.optimizer {
        case .sgd:
            let o = SGD(lr: spec.learningRate)
            self = .sgd(OnlineLearner(model: LinearModel(config: config, optimizer: o), version: version, freshOptimizer: o,
                                      detector: detector, config: learnerConfig))
        case .adagrad:
            let o = AdaGrad(.constant(spec.learningRate))
            self = .adagrad(OnlineLearner(model: LinearModel(config: config, optimizer: o), version: version, freshOptimizer: o,
                                          detector: detector, config: learnerConfig))
        case .ftrl:
            let o = FTRLProximal(alpha: spec.learningRate, l1: spec.l1, l2: spec.l2)
            self = .ftrl(OnlineLearner(model: LinearModel(config: config, optimizer: o), version: version, freshOptimizer: o,
                                       detector: detector, config: learnerConfig))
        }
    }

    /// Test-then-train: scores `input`; learns when `label` is given. Returns P(y = 1).
    @inlinable
    public mutating func process(_ input: inout ModelInput, label: Double?, time: Int64) -> Double {
        switch self {
        case .sgd(var l): defer { self = .sgd(l) }; return Self.step(&l, &input, label, time)
        case .adagrad(var l): defer { self = .adagrad(l) }; return Self.step(&l, &input, label, time)
        case .ftrl(var l): defer { self = .ftrl(l) }; return Self.step(&l, &input, label, time)
        }
    }

    @inlinable
    static func step<O, D>(_ l: inout OnlineLearner<O, D>, _ input: inout ModelInput, _ label: Double?, _ time: Int64) -> Double {
        if let label { return l.scoreAndLearn(input: &input, label: label, time: time) }
        l.standardizer?.transform(&input)
        return l.gate.score(input)
    }

    /// Asks for a challenger (from the drift gate's retrain request).
    public mutating func requestRetrain(id: String, reason: String, now: Int64) {
        switch self {
        case .sgd(var l): l.requestRetrain(requestId: id, reason: reason, now: now); self = .sgd(l)
        case .adagrad(var l): l.requestRetrain(requestId: id, reason: reason, now: now); self = .adagrad(l)
        case .ftrl(var l): l.requestRetrain(requestId: id, reason: reason, now: now); self = .ftrl(l)
        }
    }

    /// Retraining decisions since the last call, as JSON records.
    public mutating func takeDecisionRecords() -> [[UInt8]] {
        func records<O, D>(_ l: inout OnlineLearner<O, D>) -> [[UInt8]] { l.takeDecisions().map { $0.json() } }
        switch self {
        case .sgd(var l): defer { self = .sgd(l) }; return records(&l)
        case .adagrad(var l): defer { self = .adagrad(l) }; return records(&l)
        case .ftrl(var l): defer { self = .ftrl(l) }; return records(&l)
        }
    }

    public var version: Int {
        switch self {
        case .sgd(let l): return l.gate.championVersion.version
        case .adagrad(let l): return l.gate.championVersion.version
        case .ftrl(let l): return l.gate.championVersion.version
        }
    }

    /// Prequential log loss and accuracy over every labelled event so far.
    public var prequential: PrequentialMetrics {
        switch self {
        case .sgd(let l): return l.prequential
        case .adagrad(let l): return l.prequential
        case .ftrl(let l): return l.prequential
        }
    }
}

extension ModelStage: ByteSerializable {
    /// The whole learner (champion, challenger and shadow state, retraining buffer, pending
    /// labels, metrics, detector, counters) behind a tag naming the optimiser. Restoring and
    /// continuing gives exactly the outputs of an uninterrupted run.
    public func serialize(into w: inout ByteWriter) {
        w.writeHeader(tag: "WMST", version: 1)
        switch self {
        case .sgd(let l): w.write(UInt8(0)); l.serialize(into: &w)
        case .adagrad(let l): w.write(UInt8(1)); l.serialize(into: &w)
        case .ftrl(let l): w.write(UInt8(2)); l.serialize(into: &w)
        }
    }

    public init(deserializing r: inout ByteReader) throws(SerializationError) {
        try r.readHeader(tag: "WMST", supportedVersions: 1...1)
        switch try r.readUInt8() {
        case 0: self = .sgd(try OnlineLearner(deserializing: &r))
        case 1: self = .adagrad(try OnlineLearner(deserializing: &r))
        case 2: self = .ftrl(try OnlineLearner(deserializing: &r))
        case let k: throw .invalidValue(field: "model stage optimiser", detail: "unknown tag \(k)")
        }
    }
}

/// ADWIN on the loss, or nothing (never fires).
public struct OptionalLossDetector: LossDriftDetector, ByteSerializable {
    public var adwin: ADWINLossDetector?
    public init(adwin: ADWINLossDetector?) { self.adwin = adwin }
    public mutating func update(_ loss: Double) -> Bool { adwin?.update(loss) ?? false }
    public mutating func reset() { adwin?.reset() }

    public func serialize(into w: inout ByteWriter) {
        w.write(adwin != nil)
        adwin?.serialize(into: &w)
    }

    public init(deserializing r: inout ByteReader) throws(SerializationError) {
        adwin = try r.readBool() ? try ADWINLossDetector(deserializing: &r) : nil
    }
}
