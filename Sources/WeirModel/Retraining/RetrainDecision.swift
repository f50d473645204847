/// Which decision a ``RetrainDecision`` records.
public enum RetrainDecisionKind: String, Sendable, Equatable {
    /// A challenger was trained on the recent-events buffer and entered shadow mode.
    case modelTrained = "model_trained"
    /// The challenger beat the champion by the margin and replaced it.
    case modelPromoted = "model_promoted"
    /// The challenger was discarded (not better by the margin, or too little data to train).
    case modelRejected = "model_rejected"
}

/// One auditable decision of the ``RetrainingGate`` with the figures that justified it.
/// Encoded as JSON by ``RetrainDecision/json()`` (fields documented there).
public struct RetrainDecision: Sendable, Equatable {
    public var kind: RetrainDecisionKind
    public var modelId: String
    /// Caller time of the decision.
    public var time: Int64
    public var championVersion: Int
    public var challengerVersion: Int
    public var requestId: String
    /// Why retraining was requested (e.g. "concept_drift", or the request's reason).
    public var reason: String
    /// Buffer events the challenger was trained on (per epoch).
    public var trainedEvents = 0
    /// Progressive loss of the challenger over its training pass(es): log loss, or squared error
    /// for linear regression (the same holds for the champion/challenger losses below).
    public var trainLogLoss = 0.0
    /// Shadow events compared (0 for `model_trained`).
    public var shadowEvents = 0
    public var championLogLoss = 0.0
    public var challengerLogLoss = 0.0
    public var championAccuracy = 0.0
    public var challengerAccuracy = 0.0
    /// Required relative improvement of log loss.
    public var margin = 0.0
    /// Achieved relative improvement `(champion − challenger) / champion` (0 if champion is 0).
    public var improvement = 0.0
    /// Short machine-readable detail ("better_by_margin", "not_better_by_margin", "insufficient_data", "trained").
    public var detail = ""

    public init(kind: RetrainDecisionKind, modelId: String, time: Int64, championVersion: Int,
                challengerVersion: Int, requestId: String, reason: String) {
        self.kind = kind
        self.modelId = modelId
        self.time = time
        self.championVersion = championVersion
        self.challengerVersion = challengerVersion
        self.requestId = requestId
        self.reason = reason
    }
}
