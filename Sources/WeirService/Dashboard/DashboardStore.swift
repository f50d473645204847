import Foundation

/// The sink topics a dashboard reads.
public struct DashboardTopics: Sendable, Equatable {
    public var drift: String
    public var alerts: String
    public var retrain: String
    public var models: String
    /// Read from its newest ``DashboardReader/scoresPerPartition`` records per partition only.
    public var scores: String
    public init(drift: String, alerts: String, retrain: String, models: String, scores: String = "") {
        self.drift = drift; self.alerts = alerts; self.retrain = retrain; self.models = models; self.scores = scores
    }
    /// Non-empty names, in a fixed order.
    public var all: [String] { [drift, alerts, retrain, models, scores].filter { !$0.isEmpty } }
}

/// The gate's thresholds, drawn on the timelines (nil: the gate does not use that statistic).
public struct DashboardThresholds: Sendable, Equatable {
    public var psi: Double?
    public var ksPValue: Double?
    public var ksMinStatistic: Double?
    public var chi2PValue: Double?
    public init(psi: Double? = nil, ksPValue: Double? = nil, ksMinStatistic: Double? = nil, chi2PValue: Double? = nil) {
        self.psi = psi; self.ksPValue = ksPValue; self.ksMinStatistic = ksMinStatistic; self.chi2PValue = chi2PValue
    }
}

/// Typed configuration of `weir dashboard`, with defaults.
public struct DashboardConfiguration: Sendable {
    public var topology: String
    public var brokers: String
    /// Loopback unless told otherwise.
    public var host: String = "127.0.0.1"
    public var port: Int = 8765
    public var topics: DashboardTopics
    public var thresholds: DashboardThresholds = DashboardThresholds()
    public var limits: DashboardState.Limits = DashboardState.Limits()
    /// How often the reader looks for missing topics and checks the brokers.
    public var metadataInterval: Duration = .seconds(3)
    public init(topology: String, brokers: String, topics: DashboardTopics) {
        self.topology = topology; self.brokers = brokers; self.topics = topics
    }
}

/// The dashboard's state shared between the Kafka reader thread and the HTTP handlers: a
/// ``DashboardState`` plus the reader's status (problems shown in the page's banner), behind one lock.
public final class DashboardStore: @unchecked Sendable {
    private let lock = NSLock()
    private var state: DashboardState
    private var problems: [String: String] = [:]
    private var connected = false
    private var arrivals: [Date] = []
    private var version = 0
    public let configuration: DashboardConfiguration
    /// Identifies this process's state, so a page can tell a restarted server from new records.
    public let instance = UUID().uuidString

    public init(configuration: DashboardConfiguration) {
        self.configuration = configuration
        self.state = DashboardState(limits: configuration.limits)
    }

    /// Ingests one message value; `now` stamps drift-topic arrivals for the records/s figure.
    public func ingest(json: Data, topic: String, now: Date = Date()) {
        lock.withLock {
            let outcome = state.ingest(json: json)
            version += 1
            if outcome == .drift {
                arrivals.append(now)
                if arrivals.count > 10_000 { arrivals.removeFirst(arrivals.count - 10_000) }
            }
        }
    }

    /// Sets (or clears, with nil) a problem shown in the banner, under a stable key.
    public func setProblem(_ key: String, _ message: String?) {
        lock.withLock {
            if problems[key] != message { version += 1 }
            problems[key] = message
        }
    }

    public func setConnected(_ value: Bool) {
        lock.withLock {
            if connected != value { version += 1 }
            connected = value
        }
    }

    public var snapshot: DashboardState { lock.withLock { state } }
    public var currentProblems: [String] { lock.withLock { problems.sorted { $0.key < $1.key }.map(\.value) } }

    // MARK: JSON API

    /// The columns of each window row in `/api/state`'s `monitors[].windows` (rows, not objects,
    /// to keep the first answer small: about 80 bytes per window).
    public static let windowFields = ["window", "first_event_time", "last_event_time", "n_current", "psi", "ks_statistic",
                                      "ks_pvalue", "chi2_pvalue", "drifted", "reasons", "new_categories"]

    /// The columns of each row of `/api/state`'s `scores`: one minute of event time of score
    /// records (mean score, prequential log loss and accuracy of the labelled ones, newest model
    /// version, scores per tenth).
    public static let scoreFields = ["time", "count", "mean_score", "labelled", "log_loss", "accuracy", "model_version", "histogram"]

    /// A statistic for the timelines, rounded to 4 significant digits (the drift record keeps it whole).
    static func figure(_ x: Double?) -> Double? {
        guard let x, x != 0, x.isFinite else { return x }
        let scale = pow(10, 3 - floor(log10(abs(x))))
        let r = (x * scale).rounded() / scale
        return scale.isFinite && r.isFinite ? r : x  // below ~1e-305 the scale overflows: kept as is
    }

    /// `/api/state`: everything but histograms (those come from ``histogramJSON(feature:window:)``).
    /// `since`: the version the page has; when nothing changed the body is `{"version":n,"unchanged":true}`.
    /// Each monitor's `windows` are rows whose columns are named by `window_fields` (``windowFields``).
    /// `after`: the `sequence` the page has; then only windows, timeline entries and performance
    /// points ingested after it are listed (`"incremental":true`; monitors' other fields, health
    /// and status are always whole). A page merges them by monitor and window number.
    public func stateJSON(since: Int? = nil, after: Int? = nil, now: Date = Date()) -> Data {
        let (s, problems, connected, version, rate) = lock.withLock { () -> (DashboardState, [String], Bool, Int, Double) in
            let recent = arrivals.filter { now.timeIntervalSince($0) <= 10 }
            return (state, self.problems.sorted { $0.key < $1.key }.map(\.value), self.connected, self.version, Double(recent.count) / 10)
        }
        if let since, since == version { return Self.encode(["version": version, "unchanged": true]) }
        let c = configuration
        let incremental = after.map { $0 >= 0 && $0 <= s.sequence } ?? false
        let cut = incremental ? after! : 0
        let monitors: [[String: Any]] = s.monitors.values.sorted { $0.feature < $1.feature }.map { m in
            ["feature": m.feature, "kind": m.kind, "dropped_windows": m.droppedWindows, "alerts_opened": m.alertsOpened,
             "windows": m.windows.filter { $0.seq > cut }.map { w -> [Any] in
                 [w.window, Self.v(w.firstEventTime), Self.v(w.lastEventTime), Self.v(w.nCurrent), Self.v(Self.figure(w.psi)),
                  Self.v(Self.figure(w.ksStatistic)), Self.v(Self.figure(w.ksPValue)), Self.v(Self.figure(w.chi2PValue)), w.drifted ? 1 : 0,
                  w.reasons, Self.newCategories(w.histogram).count]
             }]
        }
        let timeline: [[String: Any]] = s.timeline.filter { $0.seq > cut }.map {
            ["kind": $0.kind, "id": $0.id, "feature": Self.v($0.feature), "window": Self.v($0.window), "time": Self.v($0.time),
             "detail": $0.detail, "reasons": $0.reasons]
        }
        let scores: [[Any]] = s.scores.filter { $0.seq > cut }.map { b in
            [b.time, b.count, Self.v(Self.figure(b.scoreSum / Double(b.count))), b.labelled,
             Self.v(b.labelled > 0 ? Self.figure(b.logLossSum / Double(b.labelled)) : nil),
             Self.v(b.labelled > 0 ? Self.figure(Double(b.correct) / Double(b.labelled)) : nil), Self.v(b.modelVersion), b.histogram]
        }
        let performance: [[String: Any]] = s.performance.filter { $0.seq > cut }.map {
            ["time": $0.time, "decision": $0.decision, "champion_version": Self.v($0.championVersion),
             "challenger_version": Self.v($0.challengerVersion), "champion_log_loss": Self.v($0.championLogLoss),
             "challenger_log_loss": Self.v($0.challengerLogLoss), "champion_accuracy": Self.v($0.championAccuracy),
             "challenger_accuracy": Self.v($0.challengerAccuracy), "shadow_events": Self.v($0.shadowEvents)]
        }
        var lastDrift: Any = NSNull()
        if let l = s.lastDrift { lastDrift = ["feature": l.feature, "window": l.window, "last_event_time": Self.v(l.lastEventTime)] as [String: Any] }
        let body: [String: Any] = [
            "version": version,
            "instance": instance,
            "sequence": s.sequence,
            "incremental": incremental,
            "after": cut,
            "topology": c.topology,
            "brokers": c.brokers,
            "topics": ["drift": c.topics.drift, "alerts": c.topics.alerts, "retrain": c.topics.retrain, "models": c.topics.models, "scores": c.topics.scores],
            "status": ["connected": connected, "problems": problems],
            "thresholds": ["psi": Self.v(c.thresholds.psi), "ks_pvalue": Self.v(c.thresholds.ksPValue),
                           "ks_min_statistic": Self.v(c.thresholds.ksMinStatistic), "chi2_pvalue": Self.v(c.thresholds.chi2PValue)],
            "limits": ["windows_per_monitor": c.limits.windowsPerMonitor, "timeline_entries": c.limits.timelineEntries,
                       "score_minutes": c.limits.scoreMinutes],
            "health": ["drift_records_per_second": rate, "model_version": Self.v(s.modelVersion), "open_alerts": s.openAlerts.count,
                       "last_drift": lastDrift, "records": s.counts],
            "window_fields": Self.windowFields,
            "score_fields": Self.scoreFields,
            "scores": scores,
            "dropped_score_minutes": s.droppedScoreMinutes,
            "monitors": monitors,
            "timeline": timeline,
            "dropped_timeline_entries": s.droppedEntries,
            "performance": performance,
        ]
        return Self.encode(body)
    }

    /// `/api/histogram?feature=F&window=N`: the window's histogram, with the categories that the
    /// reference never saw listed in `new_categories`; nil when the window is not in the history.
    public func histogramJSON(feature: String, window: Int) -> Data? {
        let s = snapshot
        guard let w = s.monitors[feature]?.windows.last(where: { $0.window == window }) else { return nil }
        var body: [String: Any] = ["feature": feature, "window": window, "kind": s.monitors[feature]?.kind ?? "numeric",
                                   "first_event_time": Self.v(w.firstEventTime), "last_event_time": Self.v(w.lastEventTime),
                                   "psi": Self.v(w.psi), "drifted": w.drifted]
        if let h = w.histogram {
            body["histogram"] = ["edges": Self.v(h.edges), "categories": Self.v(h.categories), "reference": h.reference, "current": h.current] as [String: Any]
            body["new_categories"] = Self.newCategories(h)
        } else {
            body["histogram"] = NSNull()
            body["new_categories"] = [String]()
        }
        return Self.encode(body)
    }

    /// Categories with no reference share and some current share.
    static func newCategories(_ h: DashboardState.Histogram?) -> [String] {
        guard let h, let cats = h.categories else { return [] }
        return cats.indices.filter { $0 < h.reference.count && $0 < h.current.count && h.reference[$0] == 0 && h.current[$0] > 0 }.map { cats[$0] }
    }

    private static func v<T>(_ x: T?) -> Any { x.map { $0 as Any } ?? NSNull() }

    static func encode(_ object: [String: Any]) -> Data {
        (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data(#"{"error":"encoding"}"#.utf8)
    }
}
