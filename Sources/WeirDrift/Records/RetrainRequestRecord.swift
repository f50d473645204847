import WeirJSON

/// A request to retrain, emitted by the ``DriftGate`` when at least one alert opens outside
/// the gate's retrain cooldown. Schema: schemas/retrain-request.schema.json.
public struct RetrainRequestRecord: Sendable, Equatable {
    /// "<gate>-retrain-<sequence>" (deterministic, so replays give the same ids).
    public var requestID: String
    public var gate: String
    /// Human-readable reason, e.g. "drift: amount (psi, ks)".
    public var reason: String
    /// The window in which the request was made.
    public var window: Int
    public var windowStart: Int64
    public var windowEnd: Int64
    /// Fields with an open alert at that moment, ascending.
    public var fields: [String]
    /// Their alert ids, in the order of `fields`.
    public var alertIDs: [String]
    /// Drifted windows of the runs that opened those alerts, ascending, distinct.
    public var windows: [Int]
    public var referenceID: String
    public var referenceDescription: String

    public init(requestID: String, gate: String, reason: String, window: Int, windowStart: Int64, windowEnd: Int64,
                fields: [String], alertIDs: [String], windows: [Int], referenceID: String, referenceDescription: String) {
        self.requestID = requestID; self.gate = gate; self.reason = reason; self.window = window
        self.windowStart = windowStart; self.windowEnd = windowEnd; self.fields = fields; self.alertIDs = alertIDs
        self.windows = windows; self.referenceID = referenceID; self.referenceDescription = referenceDescription
    }

    public func json() -> String {
        var w = JSONWriter()
        w.beginObject()
        w.field("record", "retrain_request")
        w.field("request_id", requestID)
        w.field("gate", gate)
        w.field("reason", reason)
        w.field("window", window)
        w.field("window_start", windowStart)
        w.field("window_end", windowEnd)
        w.field("fields", strings: fields)
        w.field("alert_ids", strings: alertIDs)
        w.field("windows", ints: windows)
        w.field("reference_id", referenceID)
        w.field("reference_description", referenceDescription)
        w.endObject()
        return w.string
    }
}
