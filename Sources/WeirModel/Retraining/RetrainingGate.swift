import WeirStats

/// Configuration of a ``RetrainingGate``.
public struct RetrainingConfig: Sendable, Equatable {
    /// Most recent labelled events kept for training a challenger.
    public var bufferCapacity: Int
    /// Only buffer events with `time >= now − bufferMaxAge` are used for training.
    public var bufferMaxAge: Int64
    /// Fewer usable buffer events than this: the request is rejected ("insufficient_data").
    public var minTrainingEvents: Int
    /// Passes over the buffer when training the challenger.
    public var trainingEpochs: Int
    /// Shadow events compared before deciding.
    public var minShadowEvents: Int
    /// Promote when `challengerLogLoss <= championLogLoss · (1 − margin)`.
    public var margin: Double
    /// Drift detections are ignored until the champion has learned this many events (a model
    /// still converging is not drifting). Explicit requests are always honoured.
    public var warmupEvents: Int

    public init(bufferCapacity: Int = 5_000, bufferMaxAge: Int64 = .max, minTrainingEvents: Int = 100,
                trainingEpochs: Int = 1, minShadowEvents: Int = 1_000, margin: Double = 0.02, warmupEvents: Int = 1_000) {
        self.bufferCapacity = max(1, bufferCapacity)
        self.bufferMaxAge = max(0, bufferMaxAge)
        self.minTrainingEvents = max(1, minTrainingEvents)
        self.trainingEpochs = max(1, trainingEpochs)
        self.minShadowEvents = max(1, minShadowEvents)
        self.margin = margin.isFinite ? margin : 0
        self.warmupEvents = max(0, warmupEvents)
    }
}

/// Champion/challenger retraining as a pure state machine (no clock, no I/O). Losses are the
/// model's own: log loss (logistic) or squared error (linear regression; accuracies are then 0).
///
/// States: *idle* (champion only) → on ``request(requestId:reason:now:since:referenceId:)`` (at once, or once
/// enough post-drift events are buffered) a challenger is trained
/// (fresh weights, same config and optimiser settings) on the buffered recent labelled events →
/// *shadow*: every labelled event is predicted by the challenger before it learns from it and
/// compared with the champion's score → after `minShadowEvents`, *promote* (challenger becomes
/// champion with its version) or *reject* (challenger discarded) → idle. Both models keep learning
/// during shadow. Every transition appends a ``RetrainDecision``; requests while a challenger is
/// in shadow are ignored and counted.
/// - Complexity: ``learn(_:label:time:championScore:)`` O(features) per event for each live model,
///   no allocation; a request costs O(buffer · epochs) and allocates the challenger's weights.
public struct RetrainingGate<O: OnlineOptimizer>: Sendable {
    public let config: RetrainingConfig
    @inlinable public var champion: LinearModel<O> { _champion }
    @usableFromInline var _champion: LinearModel<O>
    @inlinable public var championVersion: ModelVersion { _championVersion }
    @usableFromInline var _championVersion: ModelVersion
    @inlinable public var challenger: LinearModel<O>? { _challenger }
    @usableFromInline var _challenger: LinearModel<O>?
    @inlinable public var challengerVersion: ModelVersion? { _challengerVersion }
    @usableFromInline var _challengerVersion: ModelVersion?
    /// Decisions not yet taken by ``takeDecisions()``.
    @inlinable public var decisions: [RetrainDecision] { _decisions }
    @usableFromInline var _decisions: [RetrainDecision] = []
    @inlinable public var ignoredRequests: Int { _ignoredRequests }
    @usableFromInline var _ignoredRequests: Int = 0
    @inlinable public var promotions: Int { _promotions }
    @usableFromInline var _promotions: Int = 0
    @inlinable public var rejections: Int { _rejections }
    @usableFromInline var _rejections: Int = 0
    @usableFromInline let freshOptimizer: O
    @usableFromInline var buffer: LabelledBuffer
    @usableFromInline var scratch: ModelInput
    @usableFromInline var shadow = ShadowScore()
    @usableFromInline var latestVersion: Int
    @usableFromInline var waiting: WaitingRequest?

    @usableFromInline struct ShadowScore: Sendable {
        @usableFromInline var n = 0, champLoss = 0.0, challLoss = 0.0, champCorrect = 0, challCorrect = 0
        @usableFromInline init() {}
    }

    /// `optimizer` is the prototype (fresh state) for the champion and every challenger.
    public init(champion: LinearModel<O>, version: ModelVersion, freshOptimizer: O, config: RetrainingConfig = RetrainingConfig()) {
        self.config = config
        _champion = champion
        _championVersion = version
        self.freshOptimizer = freshOptimizer
        latestVersion = version.version
        buffer = LabelledBuffer(layout: _champion.config.layout, capacity: config.bufferCapacity)
        scratch = ModelInput(layout: _champion.config.layout)
    }

    /// True while a challenger runs in shadow.
    public var inShadow: Bool { _challenger != nil }

    /// Champion's probability for `x`.
    @inlinable public func score(_ x: ModelInput) -> Double { _champion.predict(x) }

    /// A labelled event (after its label joined). `championScore` is the score the champion
    /// emitted for it (prequential). Buffers the event, updates the shadow comparison, lets both
    /// models learn, and decides once the shadow has seen `minShadowEvents`.
    @inlinable @discardableResult
    public mutating func learn(_ x: ModelInput, label y: Double, time: Int64, championScore: Double) -> LearnOutcome {
        learn(x, label: y, time: time, championScore: championScore, championRawScore: _champion.rawScore(x))
    }

    /// As ``learn(_:label:time:championScore:)`` with the champion's current raw score for `x`
    /// (and optionally its loss gradient) already known (saves a dot product and an `exp`).
    @inlinable @discardableResult
    public mutating func learn(_ x: ModelInput, label y: Double, time: Int64, championScore: Double,
                               championRawScore z: Double, championGradient: Double? = nil) -> LearnOutcome {
        let outcome = _champion.learn(x, label: y, weight: 1, rawScore: z,
                                      lossGradient: championGradient ?? _champion.lossGradient(label: y, rawScore: z))
        guard outcome.didLearn else { return outcome }
        buffer.append(x, label: y, time: time)
        if _challenger != nil {
            let z = _challenger!.rawScore(x)
            let pc = _challenger!.link(z)
            _challenger!.learn(x, label: y, rawScore: z)
            shadow.n += 1
            shadow.champLoss += _champion.loss(prediction: championScore, label: y)
            shadow.challLoss += _champion.loss(prediction: pc, label: y)
            if (championScore > 0.5 ? 1.0 : 0.0) == y { shadow.champCorrect += 1 }
            if (pc > 0.5 ? 1.0 : 0.0) == y { shadow.challCorrect += 1 }
            if shadow.n >= config.minShadowEvents { decide(time: time) }
        }
        // After the shadow step, so a challenger trained now is compared on later events only.
        if waiting != nil { noteBuffered(time: time) }
        return outcome
    }

    /// A retrain request (from the drift gate or concept drift).
    ///
    /// Without `since`: trains a challenger at once on the buffered events no older than
    /// `bufferMaxAge` and starts the shadow run, or rejects at once ("insufficient_data") when
    /// fewer than `minTrainingEvents` are usable. With `since` (e.g. the time drift was detected):
    /// the request waits until `minTrainingEvents` labelled events with `time >= since` have been
    /// buffered, then trains on exactly those, so a challenger after a concept change learns the
    /// new concept only. Returns false when ignored because a challenger is already in shadow
    /// or another request is waiting. `referenceId` (e.g. the drift gate's reference) goes into
    /// the challenger's lineage; without it the champion's is kept.
    @discardableResult
    public mutating func request(requestId: String, reason: String, now: Int64, since: Int64? = nil,
                                 referenceId: String? = nil) -> Bool {
        guard _challenger == nil, waiting == nil else { _ignoredRequests += 1; return false }
        if let since {
            waiting = WaitingRequest(requestId: requestId, reason: reason, since: since, requestedAt: now, referenceId: referenceId)
            return true
        }
        let (lim, overflow) = now.subtractingReportingOverflow(config.bufferMaxAge)
        train(requestId: requestId, reason: reason, now: now, cutoff: overflow ? Int64.min : lim, rejectIfShort: true,
              referenceId: referenceId)
        return true
    }

    /// A request waiting for post-drift data (see ``request(requestId:reason:now:since:referenceId:)``).
    public var waitingRequestId: String? { waiting?.requestId }

    @usableFromInline struct WaitingRequest: Sendable, Equatable {
        @usableFromInline var requestId: String, reason: String, since: Int64, requestedAt: Int64
        @usableFromInline var referenceId: String?
        @usableFromInline var seen = 0
    }

    /// Counts a buffered event for a waiting request and trains once enough have arrived.
    @usableFromInline mutating func noteBuffered(time: Int64) {
        guard var w = waiting else { return }
        if time >= w.since { w.seen += 1 }
        waiting = w
        if w.seen >= config.minTrainingEvents {
            waiting = nil
            train(requestId: w.requestId, reason: w.reason, now: time, cutoff: w.since, rejectIfShort: false,
                  referenceId: w.referenceId)
        }
    }

    mutating func train(requestId: String, reason: String, now: Int64, cutoff: Int64, rejectIfShort: Bool,
                        referenceId: String?) {
        latestVersion += 1
        let v = ModelVersion(modelId: _championVersion.modelId, version: latestVersion, createdAt: now,
                             parentVersion: _championVersion.version, referenceId: referenceId ?? _championVersion.referenceId,
                             retrainRequestId: requestId, reason: reason)
        var d = RetrainDecision(kind: .modelTrained, modelId: v.modelId, time: now, championVersion: _championVersion.version,
                                challengerVersion: v.version, requestId: requestId, reason: reason)
        d.margin = config.margin
        var model = LinearModel(config: _champion.config, optimizer: freshOptimizer)
        var lossSum = 0.0, seen = 0, trained = 0
        for _ in 0..<config.trainingEpochs {
            trained = buffer.forEach(since: cutoff, scratch: &scratch) { x, y, _ in
                let z = model.rawScore(x)
                lossSum += model.loss(prediction: model.link(z), label: y)
                seen += 1
                model.learn(x, label: y, rawScore: z)
            }
        }
        d.trainedEvents = trained
        d.trainLogLoss = seen == 0 ? 0 : lossSum / Double(seen)
        if rejectIfShort && trained < config.minTrainingEvents {
            d.kind = .modelRejected
            d.detail = "insufficient_data"
            _rejections += 1
            _decisions.append(d)
            return
        }
        d.detail = "trained"
        _decisions.append(d)
        _challenger = model
        _challengerVersion = v
        shadow = ShadowScore()
    }

    @usableFromInline mutating func decide(time: Int64) {
        guard let v = _challengerVersion, let ch = _challenger else { return }
        let n = Double(shadow.n)
        let champ = shadow.champLoss / n, chall = shadow.challLoss / n
        let promote = chall <= champ * (1 - config.margin)
        var d = RetrainDecision(kind: promote ? .modelPromoted : .modelRejected, modelId: v.modelId, time: time,
                                championVersion: _championVersion.version, challengerVersion: v.version,
                                requestId: v.retrainRequestId ?? "", reason: v.reason ?? "")
        d.shadowEvents = shadow.n
        d.championLogLoss = champ
        d.challengerLogLoss = chall
        if _champion.config.task == .logistic {
            d.championAccuracy = Double(shadow.champCorrect) / n
            d.challengerAccuracy = Double(shadow.challCorrect) / n
        }
        d.margin = config.margin
        d.improvement = champ > 0 ? (champ - chall) / champ : 0
        d.detail = promote ? "better_by_margin" : "not_better_by_margin"
        if promote {
            _champion = ch
            _championVersion = v
            _promotions += 1
        } else {
            _rejections += 1
        }
        _challenger = nil
        _challengerVersion = nil
        _decisions.append(d)
    }

    /// Returns and clears the decisions made since the last call.
    public mutating func takeDecisions() -> [RetrainDecision] {
        defer { _decisions.removeAll(keepingCapacity: true) }
        return _decisions
    }

    /// Replaces the champion (e.g. after restoring a snapshot); drops any challenger.
    public mutating func restoreChampion(_ model: LinearModel<O>, version: ModelVersion) {
        _champion = model
        _championVersion = version
        latestVersion = max(latestVersion, version.version)
        _challenger = nil
        _challengerVersion = nil
        waiting = nil
    }
}

extension RetrainingConfig {
    func write(into w: inout ByteWriter) {
        w.write(bufferCapacity); w.write(bufferMaxAge); w.write(minTrainingEvents); w.write(trainingEpochs)
        w.write(minShadowEvents); w.write(margin); w.write(warmupEvents)
    }

    static func read(from r: inout ByteReader) throws(SerializationError) -> RetrainingConfig {
        let cap = try r.readCount(field: "bufferCapacity", limit: 1 << 26)
        let age = try r.readInt64()
        let minTrain = try r.readInt(), epochs = try r.readCount(field: "trainingEpochs", limit: 1 << 16)
        let minShadow = try r.readInt(), margin = try r.readDouble(), warm = try r.readInt()
        return RetrainingConfig(bufferCapacity: cap, bufferMaxAge: age, minTrainingEvents: minTrain, trainingEpochs: epochs,
                                minShadowEvents: minShadow, margin: margin, warmupEvents: warm)
    }
}

extension RetrainDecision {
    func write(into w: inout ByteWriter) {
        w.write(kind.rawValue); w.write(modelId); w.write(time); w.write(championVersion); w.write(challengerVersion)
        w.write(requestId); w.write(reason); w.write(trainedEvents); w.write(trainLogLoss); w.write(shadowEvents)
        w.write(championLogLoss); w.write(challengerLogLoss); w.write(championAccuracy); w.write(challengerAccuracy)
        w.write(margin); w.write(improvement); w.write(detail)
    }

    static func read(from r: inout ByteReader) throws(SerializationError) -> RetrainDecision {
        let k = try r.readString(field: "kind")
        guard let kind = RetrainDecisionKind(rawValue: k) else { throw .invalidValue(field: "kind", detail: k) }
        var d = RetrainDecision(kind: kind, modelId: try r.readString(field: "modelId"), time: try r.readInt64(),
                                championVersion: try r.readInt(), challengerVersion: try r.readInt(),
                                requestId: try r.readString(field: "requestId"), reason: try r.readString(field: "reason"))
        d.trainedEvents = try r.readInt(); d.trainLogLoss = try r.readDouble(); d.shadowEvents = try r.readInt()
        d.championLogLoss = try r.readDouble(); d.challengerLogLoss = try r.readDouble()
        d.championAccuracy = try r.readDouble(); d.challengerAccuracy = try r.readDouble()
        d.margin = try r.readDouble(); d.improvement = try r.readDouble(); d.detail = try r.readString(field: "detail")
        return d
    }
}

extension RetrainingGate: ByteSerializable {
    /// Everything: champion and challenger (with versions), the shadow comparison, the training
    /// buffer, counters and decisions not yet taken.
    public func serialize(into w: inout ByteWriter) {
        w.writeHeader(tag: "WMRG", version: 1)
        config.write(into: &w)
        _champion.serialize(into: &w)
        _championVersion.serialize(into: &w)
        w.write(_challenger != nil)
        if let c = _challenger, let v = _challengerVersion { c.serialize(into: &w); v.serialize(into: &w) }
        freshOptimizer.serialize(into: &w)
        buffer.serialize(into: &w)
        w.write(shadow.n); w.write(shadow.champLoss); w.write(shadow.challLoss)
        w.write(shadow.champCorrect); w.write(shadow.challCorrect)
        w.write(latestVersion); w.write(_ignoredRequests); w.write(_promotions); w.write(_rejections)
        w.write(_decisions.count)
        for d in _decisions { d.write(into: &w) }
        w.write(waiting != nil)
        if let q = waiting {
            w.write(q.requestId); w.write(q.reason); w.write(q.since); w.write(q.requestedAt); w.write(q.seen)
            w.write(q.referenceId != nil); w.write(q.referenceId ?? "")
        }
    }

    public init(deserializing r: inout ByteReader) throws(SerializationError) {
        try r.readHeader(tag: "WMRG", supportedVersions: 1...1)
        let config = try RetrainingConfig.read(from: &r)
        let champ = try LinearModel<O>(deserializing: &r)
        let version = try ModelVersion(deserializing: &r)
        var chall: (LinearModel<O>, ModelVersion)?
        if try r.readBool() { chall = (try LinearModel<O>(deserializing: &r), try ModelVersion(deserializing: &r)) }
        let fresh = try O(deserializing: &r)
        self.init(champion: champ, version: version, freshOptimizer: fresh, config: config)
        _challenger = chall?.0
        _challengerVersion = chall?.1
        buffer = try LabelledBuffer(deserializing: &r)
        shadow.n = try r.readInt(); shadow.champLoss = try r.readDouble(); shadow.challLoss = try r.readDouble()
        shadow.champCorrect = try r.readInt(); shadow.challCorrect = try r.readInt()
        latestVersion = try r.readInt(); _ignoredRequests = try r.readInt(); _promotions = try r.readInt()
        _rejections = try r.readInt()
        let nd = try r.readCount(field: "decisions", limit: 1 << 20)
        for _ in 0..<nd { _decisions.append(try RetrainDecision.read(from: &r)) }
        if try r.readBool() {
            var q = WaitingRequest(requestId: try r.readString(field: "requestId"), reason: try r.readString(field: "reason"),
                                   since: try r.readInt64(), requestedAt: try r.readInt64(), referenceId: nil)
            q.seen = try r.readInt()
            let hasRef = try r.readBool(), ref = try r.readString(field: "referenceId")
            q.referenceId = hasRef ? ref : nil
            waiting = q
        }
    }
}
