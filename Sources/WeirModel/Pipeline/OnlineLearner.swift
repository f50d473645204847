import WeirStats

/// Configuration of an ``OnlineLearner``.
public struct OnlineLearnerConfig: Sendable, Equatable {
    /// Standardise numeric inputs online (Welford) before scoring.
    public var standardize: Bool
    public var joiner: LabelJoinerConfig
    /// Window of the windowed metrics.
    public var window: WindowMode
    public var retraining: RetrainingConfig
    /// Accuracy counts `p = 0.5` as class 1 (the bench workload's `p >= 0.5`); default false
    /// (River's `predict_one`, `p > 0.5`).
    public var positiveAtHalf: Bool

    public init(standardize: Bool = false, joiner: LabelJoinerConfig = LabelJoinerConfig(),
                window: WindowMode = .sliding(1_000), retraining: RetrainingConfig = RetrainingConfig(),
                positiveAtHalf: Bool = false) {
        self.standardize = standardize
        self.positiveAtHalf = positiveAtHalf
        self.joiner = joiner
        self.window = window
        self.retraining = retraining
    }
}

/// What happened to a label given to ``OnlineLearner/applyLabel(eventId:label:now:)``.
public enum LabelResult: Sendable, Equatable {
    /// Joined to its event; `outcome` says whether the champion learned.
    case joined(JoinedEvent, LearnOutcome)
    /// No pending event with that id (unknown, already labelled, or expired).
    case unmatched
}

/// Counters of an ``OnlineLearner``.
public struct OnlineLearnerCounts: Sendable, Equatable {
    public var scored = 0
    /// Events scored with non-finite feature values (replaced by 0 for scoring; never learned).
    public var invalidInputs = 0
    /// Labels other than 0/1 (logistic) or not finite (linear): skipped, no metrics, no learning.
    public var invalidLabels = 0
    public var driftDetections = 0
    /// Detections ignored because a challenger was already in shadow (or a request was waiting
    /// for post-drift data) or the champion was still in its warm-up
    /// (`RetrainingConfig.warmupEvents`).
    public var driftIgnored = 0
    public init() {}
}

/// Prequential online learning: score on arrival (test), learn when the label joins (then
/// train), metrics from the emitted score, the loss fed to a drift detector, and gated
/// retraining. Binary classification (task `.logistic`: labels 0/1, log loss, ``prequential``
/// and ``window``) or regression (task `.linear`: finite labels, squared error,
/// ``prequentialMSE`` and ``regression``). Pure and single-threaded; one instance per model line.
///
/// Per event: ``score(eventId:time:input:)`` (standardises `input` in place if configured,
/// scores, keeps a copy for the label) then later ``applyLabel(eventId:label:now:)``; or, when the
/// label travels with the event, ``scoreAndLearn(input:label:time:)``.
/// - Complexity: O(features) per call; no allocation per event (decisions and retraining
///   allocate only when they happen).
public struct OnlineLearner<O: OnlineOptimizer, D: LossDriftDetector>: Sendable {
    public let config: OnlineLearnerConfig
    @inlinable public var gate: RetrainingGate<O> { _gate }
    @usableFromInline var _gate: RetrainingGate<O>
    @inlinable public var standardizer: OnlineStandardizer? { _standardizer }
    @usableFromInline var _standardizer: OnlineStandardizer?
    @inlinable public var joiner: LabelJoiner { _joiner }
    @usableFromInline var _joiner: LabelJoiner
    @inlinable public var prequential: PrequentialMetrics { _prequential }
    @usableFromInline var _prequential: PrequentialMetrics = PrequentialMetrics()
    @inlinable public var window: WindowedBinaryMetrics { _window }
    @usableFromInline var _window: WindowedBinaryMetrics
    public var detector: D
    @inlinable public var counts: OnlineLearnerCounts { _counts }
    /// Regression (task `.linear`): windowed MAE / RMSE of the emitted predictions.
    @inlinable public var regression: WindowedRegressionMetrics { _regression }
    @usableFromInline var _regression: WindowedRegressionMetrics
    /// Regression (task `.linear`): prequential mean squared error over the whole stream.
    @inlinable public var prequentialMSE: Double { _squaredError.mean }
    @usableFromInline var _squaredError = RunningMean()
    @usableFromInline var _counts: OnlineLearnerCounts = OnlineLearnerCounts()
    @usableFromInline var scratch: ModelInput
    @usableFromInline var requestSeq = 0
    @usableFromInline var promotionsSeen = 0

    /// `model` is the initial champion; `freshOptimizer` the optimiser settings for challengers.
    public init(model: LinearModel<O>, version: ModelVersion, freshOptimizer: O, detector: D,
                config: OnlineLearnerConfig = OnlineLearnerConfig()) {
        self.config = config
        _gate = RetrainingGate(champion: model, version: version, freshOptimizer: freshOptimizer, config: config.retraining)
        _standardizer = config.standardize ? OnlineStandardizer(numericCount: model.config.layout.numericCount) : nil
        _joiner = LabelJoiner(layout: model.config.layout, config: config.joiner)
        _prequential = PrequentialMetrics(positiveAtHalf: config.positiveAtHalf)
        _window = WindowedBinaryMetrics(mode: config.window, positiveAtHalf: config.positiveAtHalf)
        _regression = WindowedRegressionMetrics(mode: config.window)
        self.detector = detector
        scratch = ModelInput(layout: model.config.layout)
    }

    /// True when retraining decisions wait for ``takeDecisions()`` (O(1), no copy: per event).
    @inlinable public var hasPendingDecisions: Bool { !_gate._decisions.isEmpty }
    /// The current champion and its version (the version inlined: read per event, no copy).
    public var champion: LinearModel<O> { _gate.champion }
    @inlinable public var championVersion: ModelVersion { _gate._championVersion }

    /// Prepares `input` (standardise, zero non-finite values) and returns (raw score, valid).
    /// A non-finite feature always makes the raw score non-finite, so the full finiteness scan
    /// runs only then.
    @inlinable mutating func prepareAndScore(_ input: inout ModelInput) -> (Double, Bool) {
        if _standardizer != nil { _standardizer!.observeAndTransform(&input) }
        _counts.scored += 1
        var z = _gate._champion.rawScore(input)
        var valid = true
        if !z.isFinite && !input.isFinite {
            valid = false
            input.zeroNonFinite()
            _counts.invalidInputs += 1
            z = _gate._champion.rawScore(input)
        }
        return (z, valid)
    }

    /// Scores an event without a label: standardised in place with the current statistics (not
    /// updated), then the champion's prediction; nothing learns. Per event: reads the champion in
    /// place (`gate.champion.predict` copies the model first).
    @inlinable public mutating func scoreUnlabelled(_ input: inout ModelInput) -> Double {
        if let s = _standardizer { s.transform(&input) }
        return _gate._champion.predict(input)
    }

    /// Scores an event on arrival and keeps it until its label joins. `input` is standardised in
    /// place when configured. Returns P(y = 1), never NaN.
    @inlinable public mutating func score(eventId: UInt64, time: Int64, input: inout ModelInput) -> Double {
        let (z, valid) = prepareAndScore(&input)
        let p = _gate._champion.link(z)
        _joiner.add(eventId: eventId, time: time, score: p, input: input, learnable: valid)
        return p
    }

    /// Joins a label to its pending event and learns from it. Labels other than 0/1 are counted
    /// by the model and skipped.
    @inlinable @discardableResult
    public mutating func applyLabel(eventId: UInt64, label y: Double, now: Int64) -> LabelResult {
        guard let e = _joiner.join(eventId: eventId, now: now, into: &scratch) else { return .unmatched }
        let x = scratch
        return .joined(e, learnJoined(x, label: y, score: e.score, learnable: e.learnable, time: now))
    }

    /// Score then learn an event whose label came with it (prequential). Returns the score.
    @inlinable public mutating func scoreAndLearn(input: inout ModelInput, label y: Double, time: Int64) -> Double {
        let (z, valid) = prepareAndScore(&input)
        if _gate._champion.config.task == .logistic {
            let (p, g) = _gate._champion.probabilityAndGradient(label: y, rawScore: z)
            learnJoined(input, label: y, score: p, learnable: valid, time: time, rawScore: z, gradient: g)
            return p
        }
        let p = _gate._champion.link(z)
        learnJoined(input, label: y, score: p, learnable: valid, time: time, rawScore: z)
        return p
    }

    @discardableResult
    @inlinable mutating func learnJoined(_ x: ModelInput, label y: Double, score p: Double, learnable: Bool, time: Int64,
                                         rawScore: Double? = nil, gradient: Double? = nil) -> LearnOutcome {
        let loss: Double
        if _gate._champion.config.task == .logistic {
            guard y == 0 || y == 1 else { _counts.invalidLabels += 1; return .skippedInvalidLabel }
            loss = binaryLogLoss(p: p, y: y)
            _prequential.update(p: p, y: y, loss: loss)
            _window.update(p: p, y: y, loss: loss)
        } else {
            guard y.isFinite else { _counts.invalidLabels += 1; return .skippedInvalidLabel }
            loss = (p - y) * (p - y)
            _regression.update(p: p, y: y)
            _squaredError.update(loss)
        }
        guard learnable else { return .skippedInvalidFeature }
        let z = rawScore ?? _gate._champion.rawScore(x)
        let outcome = _gate.learn(x, label: y, time: time, championScore: p, championRawScore: z, championGradient: gradient)
        if detector.update(loss) {
            _counts.driftDetections += 1
            if _gate.inShadow || _gate.waiting != nil || _gate._champion.counts.learned < config.retraining.warmupEvents {
                _counts.driftIgnored += 1
            } else {
                requestSeq += 1
                // Train on the events labelled after the detection (the new concept only).
                _gate.request(requestId: "drift-\(requestSeq)", reason: "concept_drift", now: time, since: time)
            }
        }
        if _gate.promotions > promotionsSeen { promotionsSeen = _gate.promotions; detector.reset() }
        return outcome
    }

    /// An explicit retrain request (e.g. from the drift gate); see
    /// ``RetrainingGate/request(requestId:reason:now:since:referenceId:)`` for `since` and
    /// `referenceId` (e.g. a WeirDrift `RetrainRequestRecord`'s `requestID`, `reason` and
    /// `referenceID`). Returns false when
    /// ignored because a challenger is already in shadow or a request is waiting.
    @discardableResult
    public mutating func requestRetrain(requestId: String, reason: String, now: Int64, since: Int64? = nil,
                                        referenceId: String? = nil) -> Bool {
        _gate.request(requestId: requestId, reason: reason, now: now, since: since, referenceId: referenceId)
    }

    /// Drops pending events older than `now − maxWait`; returns how many expired.
    @discardableResult
    public mutating func expire(now: Int64) -> Int { _joiner.expire(now: now) }

    /// Returns and clears the retraining decisions made since the last call.
    public mutating func takeDecisions() -> [RetrainDecision] { _gate.takeDecisions() }

    /// Replaces the champion, its version and the standardiser with a restored snapshot
    /// (e.g. after a restart); any challenger in shadow is dropped. Metrics, pending labels and
    /// the retraining buffer are not part of the snapshot and keep their current state.
    public mutating func restore(_ snapshot: ModelSnapshot<O>) {
        _gate.restoreChampion(snapshot.model, version: snapshot.version)
        if let s = snapshot.standardizer { _standardizer = s }
    }

    /// Snapshot of the champion (with the standardiser).
    public var snapshot: ModelSnapshot<O> {
        ModelSnapshot(version: _gate.championVersion, model: _gate.champion, standardizer: _standardizer)
    }
}

extension OnlineLearnerConfig {
    func write(into w: inout ByteWriter) {
        w.write(standardize); w.write(positiveAtHalf); w.write(joiner.capacity); w.write(joiner.maxWait)
        window.write(into: &w)
        retraining.write(into: &w)
    }

    static func read(from r: inout ByteReader) throws(SerializationError) -> OnlineLearnerConfig {
        let std = try r.readBool(), half = try r.readBool()
        let cap = try r.readCount(field: "joiner capacity", limit: 1 << 26), wait = try r.readInt64()
        let window = try WindowMode.read(from: &r)
        return OnlineLearnerConfig(standardize: std, joiner: LabelJoinerConfig(capacity: cap, maxWait: wait), window: window,
                                   retraining: try RetrainingConfig.read(from: &r), positiveAtHalf: half)
    }
}

extension OnlineLearner: ByteSerializable where D: ByteSerializable {
    /// A full checkpoint: configuration, gate (champion, challenger, shadow, buffer, pending
    /// decisions), standardiser, pending labels with their features, metrics, the drift
    /// detector and counters. Restoring and continuing gives exactly the outputs of an
    /// uninterrupted run.
    public func serialize(into w: inout ByteWriter) {
        w.writeHeader(tag: "WMOL", version: 1)
        config.write(into: &w)
        _gate.serialize(into: &w)
        w.write(_standardizer != nil)
        _standardizer?.serialize(into: &w)
        _joiner.serialize(into: &w)
        _prequential.serialize(into: &w)
        _window.serialize(into: &w)
        _regression.serialize(into: &w)
        w.write(_squaredError.count); w.write(_squaredError.mean)
        detector.serialize(into: &w)
        for c in [_counts.scored, _counts.invalidInputs, _counts.invalidLabels, _counts.driftDetections, _counts.driftIgnored,
                  requestSeq, promotionsSeen] { w.write(c) }
    }

    public init(deserializing r: inout ByteReader) throws(SerializationError) {
        try r.readHeader(tag: "WMOL", supportedVersions: 1...1)
        config = try OnlineLearnerConfig.read(from: &r)
        _gate = try RetrainingGate<O>(deserializing: &r)
        _standardizer = try r.readBool() ? try OnlineStandardizer(deserializing: &r) : nil
        _joiner = try LabelJoiner(deserializing: &r)
        _prequential = try PrequentialMetrics(deserializing: &r)
        _window = try WindowedBinaryMetrics(deserializing: &r)
        _regression = try WindowedRegressionMetrics(deserializing: &r)
        _squaredError = RunningMean(count: try r.readInt(), mean: try r.readDouble())
        detector = try D(deserializing: &r)
        _counts = OnlineLearnerCounts()
        _counts.scored = try r.readInt(); _counts.invalidInputs = try r.readInt(); _counts.invalidLabels = try r.readInt()
        _counts.driftDetections = try r.readInt(); _counts.driftIgnored = try r.readInt()
        requestSeq = try r.readInt(); promotionsSeen = try r.readInt()
        scratch = ModelInput(layout: _gate.champion.config.layout)
    }
}
