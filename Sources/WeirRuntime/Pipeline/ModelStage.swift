import Foundation
import WeirModel
import WeirStats
import WeirTopology

/// The topology's model, one concrete learner per optimiser (an enum, so scoring is statically
/// dispatched: no existential per event).
///
/// Binary logistic models and linear regression run through ``OnlineLearner`` (prequential
/// metrics — log loss and accuracy, or squared error, MAE and RMSE — concept-drift detection on
/// the loss, champion/challenger retraining).
public enum ModelStage: Sendable {
    case sgd(OnlineLearner<SGD, OptionalLossDetector>)
    case adagrad(OnlineLearner<AdaGrad, OptionalLossDetector>)
    case ftrl(OnlineLearner<FTRLProximal, OptionalLossDetector>)

    public enum SetupError: Error, CustomStringConvertible {
        case unsupported(String)
        public var description: String { switch self { case .unsupported(let s): return s } }
    }

    public init(spec: ModelSpec, dimension: Int, topologyName: String) throws {
        let layout = FeatureLayout(numericCount: dimension)
        let config = LinearModelConfig(layout: layout, task: spec.type == .logistic ? .logistic : .linear, l2: spec.l2, l1: spec.l1,
                                       interceptRate: .constant(spec.interceptLearningRate ?? spec.learningRate))
        let version = ModelVersion(modelId: topologyName)
        var learnerConfig = OnlineLearnerConfig(standardize: spec.standardize, positiveAtHalf: spec.positiveAtHalf)
        if case .topic(_, _, _, let maxWait) = spec.labels { learnerConfig.joiner.maxWait = maxWait }
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

    /// Test-then-train: scores `input`; learns when `label` is given. Returns P(y = 1)
    /// (logistic) or the predicted value (linear).
    @inlinable
    public mutating func process(_ input: inout ModelInput, label: Double?, time: Int64) -> Double {
        processVersioned(&input, label: label, time: time).score
    }

    /// ``process(_:label:time:)`` that also returns the champion's version after the event (the
    /// version a score record names), without copying the learner out of the enum.
    @inlinable
    public mutating func processVersioned(_ input: inout ModelInput, label: Double?, time: Int64) -> (score: Double, version: Int) {
        // `consume self` moves the learner out instead of copying it (a copy would retain every
        // buffer and make the learner's arrays copy on write at the next update).
        switch consume self {
        case .sgd(var l): defer { self = .sgd(l) }; return (Self.step(&l, &input, label, time), l.championVersion.version)
        case .adagrad(var l): defer { self = .adagrad(l) }; return (Self.step(&l, &input, label, time), l.championVersion.version)
        case .ftrl(var l): defer { self = .ftrl(l) }; return (Self.step(&l, &input, label, time), l.championVersion.version)
        }
    }

    @inlinable
    static func step<O, D>(_ l: inout OnlineLearner<O, D>, _ input: inout ModelInput, _ label: Double?, _ time: Int64) -> Double {
        if let label { return l.scoreAndLearn(input: &input, label: label, time: time) }
        if l.standardizer != nil { l.standardizer!.transform(&input) }
        // `l.gate.score` would copy the whole gate (buffers, challenger) per event.
        return l.gate.champion.predict(input)
    }

    /// Scores an event whose label arrives later (label topic): the event is kept, bounded in
    /// count and wait, until ``applyLabel(eventID:label:now:)`` joins it. Returns the score.
    @inlinable
    public mutating func score(eventID: UInt64, input: inout ModelInput, time: Int64) -> Double {
        switch self {
        case .sgd(var l): defer { self = .sgd(l) }; return l.score(eventId: eventID, time: time, input: &input)
        case .adagrad(var l): defer { self = .adagrad(l) }; return l.score(eventId: eventID, time: time, input: &input)
        case .ftrl(var l): defer { self = .ftrl(l) }; return l.score(eventId: eventID, time: time, input: &input)
        }
    }

    /// Joins a label to its scored event and learns from it; false when no such event is pending
    /// (unknown, already labelled, or expired).
    public mutating func applyLabel(eventID: UInt64, label: Double, now: Int64) -> Bool {
        func apply<O, D>(_ l: inout OnlineLearner<O, D>) -> Bool {
            if case .joined = l.applyLabel(eventId: eventID, label: label, now: now) { return true }
            return false
        }
        switch self {
        case .sgd(var l): defer { self = .sgd(l) }; return apply(&l)
        case .adagrad(var l): defer { self = .adagrad(l) }; return apply(&l)
        case .ftrl(var l): defer { self = .ftrl(l) }; return apply(&l)
        }
    }

    /// Drops events waiting for a label longer than the bound; returns how many.
    @discardableResult
    public mutating func expire(now: Int64) -> Int {
        switch self {
        case .sgd(var l): defer { self = .sgd(l) }; return l.expire(now: now)
        case .adagrad(var l): defer { self = .adagrad(l) }; return l.expire(now: now)
        case .ftrl(var l): defer { self = .ftrl(l) }; return l.expire(now: now)
        }
    }

    /// The label joiner's counters (added, joined, expired, evicted, unmatched labels).
    public var labelCounts: LabelJoinerCounts {
        switch self {
        case .sgd(let l): return l.joiner.counts
        case .adagrad(let l): return l.joiner.counts
        case .ftrl(let l): return l.joiner.counts
        }
    }

    /// Asks for a challenger (from the drift gate's retrain request).
    public mutating func requestRetrain(id: String, reason: String, now: Int64) {
        switch self {
        case .sgd(var l): l.requestRetrain(requestId: id, reason: reason, now: now); self = .sgd(l)
        case .adagrad(var l): l.requestRetrain(requestId: id, reason: reason, now: now); self = .adagrad(l)
        case .ftrl(var l): l.requestRetrain(requestId: id, reason: reason, now: now); self = .ftrl(l)
        }
    }

    /// Retraining decisions since the last call, as (message key, JSON record). The key,
    /// `<model_id>/<type>/<challenger_version>`, is unique per decision, so compacting the model
    /// topic (by key) never drops a decision, while version records (keyed by `model_id`) keep
    /// only the newest champion.
    public mutating func takeDecisionRecords() -> [(key: String, json: [UInt8])] {
        func records<O, D>(_ l: inout OnlineLearner<O, D>) -> [(key: String, json: [UInt8])] {
            l.takeDecisions().map { ("\($0.modelId)/\($0.kind.rawValue)/\($0.challengerVersion)", $0.json()) }
        }
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

    /// Whether the model is a regression (scores are predicted values, metrics are errors).
    public var isRegression: Bool {
        switch self {
        case .sgd(let l): return l.champion.config.task == .linear
        case .adagrad(let l): return l.champion.config.task == .linear
        case .ftrl(let l): return l.champion.config.task == .linear
        }
    }

    /// Regression: prequential root mean squared error over every labelled event so far.
    public var prequentialRMSE: Double {
        switch self {
        case .sgd(let l): return l.prequentialMSE.squareRoot()
        case .adagrad(let l): return l.prequentialMSE.squareRoot()
        case .ftrl(let l): return l.prequentialMSE.squareRoot()
        }
    }

    /// Prequential metrics for people: "log loss 0.35423, accuracy 0.85531 over N labelled
    /// events" (logistic) or "RMSE 1.234 over N labelled events" (linear).
    public var metricsSummary: String {
        let p = prequential
        if isRegression { return "RMSE \(Self.fixed(prequentialRMSE, 5))" }
        return "log loss \(Self.fixed(p.logLoss, 5)), accuracy \(Self.fixed(p.accuracy, 5))"
    }

    static func fixed(_ v: Double, _ digits: Int) -> String {
        v.isFinite ? String(format: "%.\(digits)f", v) : "-"
    }

    /// The model-version record of the current champion (see `docs/records.md`, section models).
    public func versionRecord(inputNames: [String]) -> [UInt8] {
        switch self {
        case .sgd(let l): return ModelVersionRecord.json(version: l.championVersion, model: l.champion, inputNames: inputNames)
        case .adagrad(let l): return ModelVersionRecord.json(version: l.championVersion, model: l.champion, inputNames: inputNames)
        case .ftrl(let l): return ModelVersionRecord.json(version: l.championVersion, model: l.champion, inputNames: inputNames)
        }
    }

    /// Prequential log loss and accuracy over every labelled event so far (logistic).
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
