import Foundation
import WeirModel
import WeirStats
import WeirTopology

/// The topology's model: exactly one concrete learner, one stored property per optimiser (so
/// scoring is statically dispatched: no existential per event).
///
/// Binary logistic models and linear regression run through ``OnlineLearner`` (prequential
/// metrics — log loss and accuracy, or squared error, MAE and RMSE — concept-drift detection on
/// the loss, champion/challenger retraining).
///
/// Invariant: exactly one of `sgd`, `adagrad`, `ftrl` is non-nil. The learner sits in an optional
/// stored property rather than an enum payload so that per-event mutation happens in place
/// (`sgd!.…`): taking an enum payload out to mutate it copied the learner and made every weight
/// array copy on write (measured: ~10% of `weir run`'s main thread).
public struct ModelStage: Sendable {
    public private(set) var sgd: OnlineLearner<SGD, OptionalLossDetector>?
    public private(set) var adagrad: OnlineLearner<AdaGrad, OptionalLossDetector>?
    public private(set) var ftrl: OnlineLearner<FTRLProximal, OptionalLossDetector>?

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
        } else {
            // Without `retraining` no challenger is ever trained (no loss detector, no retrain
            // requests taken), so the training buffer would only be dead state: its default
            // 5,000 events were ~1 MB of every checkpoint (fraud-contract). Keep one slot.
            learnerConfig.retraining.bufferCapacity = 1
        }
        // Concept-drift detection on the loss only when the topology asks for retraining: a model
        // without `retraining` never replaces itself.
        let detector = OptionalLossDetector(adwin: spec.retraining == nil ? nil : try ADWINLossDetector())
        switch spec.optimizer {
        case .sgd:
            let o = SGD(lr: spec.learningRate)
            sgd = OnlineLearner(model: LinearModel(config: config, optimizer: o), version: version, freshOptimizer: o,
                                detector: detector, config: learnerConfig)
        case .adagrad:
            let o = AdaGrad(.constant(spec.learningRate))
            adagrad = OnlineLearner(model: LinearModel(config: config, optimizer: o), version: version, freshOptimizer: o,
                                    detector: detector, config: learnerConfig)
        case .ftrl:
            let o = FTRLProximal(alpha: spec.learningRate, l1: spec.l1, l2: spec.l2)
            ftrl = OnlineLearner(model: LinearModel(config: config, optimizer: o), version: version, freshOptimizer: o,
                                 detector: detector, config: learnerConfig)
        }
    }

    /// Test-then-train: scores `input`; learns when `label` is given. Returns P(y = 1)
    /// (logistic) or the predicted value (linear).
    public mutating func process(_ input: inout ModelInput, label: Double?, time: Int64) -> Double {
        processVersioned(&input, label: label, time: time).score
    }

    /// What the pipeline checks after each event: its score, the champion's version after it (the
    /// version a score record names) and whether retraining decisions wait
    /// (``takeDecisionRecords()``). Returned by the per-event calls because reading ``version`` or
    /// ``hasPendingDecisions`` through `Pipeline.model!` copies the whole stage first (~6 KB, a
    /// retain per array inside), while a mutating call accesses it in place.
    public struct EventOutcome: Sendable, Equatable {
        public var score: Double
        public var version: Int
        public var pendingDecisions: Bool
    }

    /// ``process(_:label:time:)`` that also returns the champion's version and pending decisions
    /// after the event.
    public mutating func processVersioned(_ input: inout ModelInput, label: Double?, time: Int64) -> EventOutcome {
        if sgd != nil { return Self.outcome(Self.step(&sgd!, &input, label, time), &sgd!) }
        if adagrad != nil { return Self.outcome(Self.step(&adagrad!, &input, label, time), &adagrad!) }
        return Self.outcome(Self.step(&ftrl!, &input, label, time), &ftrl!)
    }

    /// `inout` only so that the learner is read in place (`sgd!` as a value copies it).
    static func outcome<O, D>(_ score: Double, _ l: inout OnlineLearner<O, D>) -> EventOutcome {
        EventOutcome(score: score, version: l.championVersion.version, pendingDecisions: l.hasPendingDecisions)
    }

    static func step<O, D>(_ l: inout OnlineLearner<O, D>, _ input: inout ModelInput, _ label: Double?, _ time: Int64) -> Double {
        if let label { return l.scoreAndLearn(input: &input, label: label, time: time) }
        return l.scoreUnlabelled(&input)
    }

    /// Scores an event whose label arrives later (label topic): the event is kept, bounded in
    /// count and wait, until ``applyLabel(eventID:label:now:)`` joins it. Returns the score.
    public mutating func score(eventID: UInt64, input: inout ModelInput, time: Int64) -> EventOutcome {
        if sgd != nil { return Self.outcome(sgd!.score(eventId: eventID, time: time, input: &input), &sgd!) }
        if adagrad != nil { return Self.outcome(adagrad!.score(eventId: eventID, time: time, input: &input), &adagrad!) }
        return Self.outcome(ftrl!.score(eventId: eventID, time: time, input: &input), &ftrl!)
    }

    /// Joins a label to its scored event and learns from it; false when no such event is pending
    /// (unknown, already labelled, or expired).
    public mutating func applyLabel(eventID: UInt64, label: Double, now: Int64) -> Bool {
        let outcome: LabelResult
        if sgd != nil { outcome = sgd!.applyLabel(eventId: eventID, label: label, now: now) }
        else if adagrad != nil { outcome = adagrad!.applyLabel(eventId: eventID, label: label, now: now) }
        else { outcome = ftrl!.applyLabel(eventId: eventID, label: label, now: now) }
        if case .joined = outcome { return true }
        return false
    }

    /// Drops events waiting for a label longer than the bound; returns how many.
    @discardableResult
    public mutating func expire(now: Int64) -> Int {
        if sgd != nil { return sgd!.expire(now: now) }
        if adagrad != nil { return adagrad!.expire(now: now) }
        return ftrl!.expire(now: now)
    }

    /// The label joiner's counters (added, joined, expired, evicted, unmatched labels).
    public var labelCounts: LabelJoinerCounts {
        sgd?.joiner.counts ?? adagrad?.joiner.counts ?? ftrl!.joiner.counts
    }

    /// Asks for a challenger (from the drift gate's retrain request).
    public mutating func requestRetrain(id: String, reason: String, now: Int64) {
        if sgd != nil { sgd!.requestRetrain(requestId: id, reason: reason, now: now) }
        else if adagrad != nil { adagrad!.requestRetrain(requestId: id, reason: reason, now: now) }
        else { ftrl!.requestRetrain(requestId: id, reason: reason, now: now) }
    }

    /// Retraining decisions since the last call, as (message key, JSON record). The key,
    /// `<model_id>/<type>/<challenger_version>`, is unique per decision, so compacting the model
    /// topic (by key) never drops a decision, while version records (keyed by `model_id`) keep
    /// only the newest champion.
    public mutating func takeDecisionRecords() -> [(key: String, json: [UInt8])] {
        let decisions = sgd != nil ? sgd!.takeDecisions() : adagrad != nil ? adagrad!.takeDecisions() : ftrl!.takeDecisions()
        return decisions.map { ("\($0.modelId)/\($0.kind.rawValue)/\($0.challengerVersion)", $0.json()) }
    }

    /// True when retraining decisions wait for ``takeDecisionRecords()`` (per event: see
    /// ``EventOutcome``).
    public var hasPendingDecisions: Bool {
        if sgd != nil { return sgd!.hasPendingDecisions }
        if adagrad != nil { return adagrad!.hasPendingDecisions }
        return ftrl!.hasPendingDecisions
    }

    /// Labels the champion has learned from (a promoted challenger counts its own).
    public var labelsLearned: Int {
        sgd?.champion.counts.learned ?? adagrad?.champion.counts.learned ?? ftrl!.champion.counts.learned
    }

    /// The champion as it is now, as a function from a raw model input (before standardisation,
    /// as the features come) to its score: standardised with the current statistics (none are
    /// updated), then predicted; `scratch` is reused storage of the model's layout. Nothing
    /// learns. Make one per batch of scores (a window close scores ~25,000 inputs): it copies the
    /// standardiser and the champion once, not per call.
    public func makeScorer() -> @Sendable (UnsafeBufferPointer<Double>, inout ModelInput) -> Double {
        if let l = sgd { return Self.scorer(l) }
        if let l = adagrad { return Self.scorer(l) }
        return Self.scorer(ftrl!)
    }

    static func scorer<O, D>(_ l: OnlineLearner<O, D>) -> @Sendable (UnsafeBufferPointer<Double>, inout ModelInput) -> Double {
        scorer(standardizer: l.standardizer, champion: l.champion)
    }

    /// The one scoring rule of a raw input: standardised (statistics not updated), then predicted.
    /// Also what broadcast weights score with (``ModelWeights/makeScorer()``).
    static func scorer<O>(standardizer: OnlineStandardizer?, champion: LinearModel<O>) -> @Sendable (UnsafeBufferPointer<Double>, inout ModelInput) -> Double {
        { x, scratch in
            scratch.withUnsafeMutableNumeric { dst in _ = dst.initialize(from: x) }
            standardizer?.transform(&scratch)
            return champion.predict(scratch)
        }
    }

    /// The champion's version (per event: see ``EventOutcome``).
    public var version: Int {
        if sgd != nil { return sgd!.championVersion.version }
        if adagrad != nil { return adagrad!.championVersion.version }
        return ftrl!.championVersion.version
    }

    /// Whether the model is a regression (scores are predicted values, metrics are errors).
    public var isRegression: Bool {
        (sgd?.champion.config.task ?? adagrad?.champion.config.task ?? ftrl!.champion.config.task) == .linear
    }

    /// Regression: prequential root mean squared error over every labelled event so far.
    public var prequentialRMSE: Double {
        (sgd?.prequentialMSE ?? adagrad?.prequentialMSE ?? ftrl!.prequentialMSE).squareRoot()
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
        if let l = sgd { return ModelVersionRecord.json(version: l.championVersion, model: l.champion, inputNames: inputNames) }
        if let l = adagrad { return ModelVersionRecord.json(version: l.championVersion, model: l.champion, inputNames: inputNames) }
        return ModelVersionRecord.json(version: ftrl!.championVersion, model: ftrl!.champion, inputNames: inputNames)
    }

    /// Prequential log loss and accuracy over every labelled event so far (logistic).
    public var prequential: PrequentialMetrics {
        sgd?.prequential ?? adagrad?.prequential ?? ftrl!.prequential
    }
}

extension ModelStage: ByteSerializable {
    /// The whole learner (champion, challenger and shadow state, retraining buffer, pending
    /// labels, metrics, detector, counters) behind a tag naming the optimiser. Restoring and
    /// continuing gives exactly the outputs of an uninterrupted run.
    public func serialize(into w: inout ByteWriter) {
        w.writeHeader(tag: "WMST", version: 1)
        if let l = sgd { w.write(UInt8(0)); l.serialize(into: &w) }
        else if let l = adagrad { w.write(UInt8(1)); l.serialize(into: &w) }
        else { w.write(UInt8(2)); ftrl!.serialize(into: &w) }
    }

    public init(deserializing r: inout ByteReader) throws(SerializationError) {
        try r.readHeader(tag: "WMST", supportedVersions: 1...1)
        switch try r.readUInt8() {
        case 0: sgd = try OnlineLearner(deserializing: &r)
        case 1: adagrad = try OnlineLearner(deserializing: &r)
        case 2: ftrl = try OnlineLearner(deserializing: &r)
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
