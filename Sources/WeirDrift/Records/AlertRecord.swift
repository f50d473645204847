import WeirJSON

/// An alert opened or resolved by the ``DriftGate`` for one field, with the statistics of the
/// window that caused it. Schema: schemas/alert-record.schema.json.
public struct AlertRecord: Sendable, Equatable {
    public enum Status: String, Sendable, Equatable { case opened, resolved }

    public var alertID: String
    public var status: Status
    public var feature: String
    public var kind: FieldKind
    /// "warning" or "critical" (fixed when the alert opens).
    public var severity: String
    /// The window that opened or resolved the alert.
    public var window: Int
    public var windowStart: Int64
    public var windowEnd: Int64
    public var openedWindow: Int
    /// Length of the run that triggered this transition (drifted windows to open, clear ones to resolve).
    public var consecutive: Int
    /// Windows of that run.
    public var windows: [Int]
    /// Rules that fired in the triggering window (empty when resolving).
    public var reasons: [String]
    /// The triggering window's statistics.
    public var statistics: WindowStatistics
    public var nCurrent: Int
    public var referenceID: String
    /// For opened alerts: whether a retrain request was emitted with it (false: gate cooldown). Nil when resolved.
    public var retrainRequested: Bool?

    public init(alertID: String, status: Status, feature: String, kind: FieldKind, severity: String, window: Int,
                windowStart: Int64, windowEnd: Int64, openedWindow: Int, consecutive: Int, windows: [Int],
                reasons: [String], statistics: WindowStatistics, nCurrent: Int, referenceID: String,
                retrainRequested: Bool?) {
        self.alertID = alertID; self.status = status; self.feature = feature; self.kind = kind
        self.severity = severity; self.window = window; self.windowStart = windowStart; self.windowEnd = windowEnd
        self.openedWindow = openedWindow; self.consecutive = consecutive; self.windows = windows
        self.reasons = reasons; self.statistics = statistics; self.nCurrent = nCurrent
        self.referenceID = referenceID; self.retrainRequested = retrainRequested
    }

    /// The record as one line of JSON (stable field order, never NaN).
    public func json() -> String {
        var w = JSONWriter()
        w.beginObject()
        w.field("record", "alert")
        w.field("alert_id", alertID)
        w.field("status", status.rawValue)
        w.field("feature", feature)
        w.field("kind", kind.rawValue)
        w.field("severity", severity)
        w.field("window", window)
        w.field("window_start", windowStart)
        w.field("window_end", windowEnd)
        w.field("opened_window", openedWindow)
        w.field("consecutive", consecutive)
        w.field("windows", ints: windows)
        w.field("reasons", strings: reasons)
        writeStatistics(statistics, into: &w)
        w.field("n_current", nCurrent)
        w.field("reference_id", referenceID)
        w.field("retrain_requested", retrainRequested)
        w.endObject()
        return w.string
    }
}

/// Writes a `statistics` object with every statistic key (null where not applicable).
func writeStatistics(_ s: WindowStatistics, into w: inout JSONWriter) {
    var n: NumericStatistics?
    var c: CategoricalStatistics?
    switch s {
    case .numeric(let x): n = x
    case .categorical(let x): c = x
    case .undefined: break
    }
    w.beginObject("statistics")
    w.field("psi", n?.psi ?? c?.psi)
    w.field("ks_statistic", n?.ksStatistic)
    w.field("ks_pvalue", n?.ksPValue)
    w.field("wasserstein_normalized", n?.wassersteinNormalized)
    w.field("chi2_statistic", c?.chi2Statistic)
    w.field("chi2_pvalue", c?.chi2PValue)
    w.field("js_distance", n?.jsDistance ?? c?.jsDistance)
    w.endObject()
}
