import Foundation
import WeirJSON

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
    /// The source topic, whose consumer lag is shown (empty: none measured).
    public var sourceTopic = ""
    /// The consumer group of the `weir run` instances whose lag is shown (`weir run`'s default: `weir-<topology name>`).
    public var group = ""
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
    private var consumerLag: ConsumerLag?
    /// The events/s last served: a change (it decays to 0 without new records) is a new version.
    private var servedRate: Double?
    private var version = 0
    public let configuration: DashboardConfiguration
    /// Identifies this process's state, so a page can tell a restarted server from new records.
    public let instance = UUID().uuidString

    public init(configuration: DashboardConfiguration) {
        self.configuration = configuration
        self.state = DashboardState(limits: configuration.limits)
    }

    /// Ingests one message value; `now` stamps drift-topic arrivals for the records/s figure;
    /// `kafkaTimestamp` (when the record was written) feeds the source's events/s from score records.
    public func ingest(json: Data, topic: String, kafkaTimestamp: Int64? = nil, now: Date = Date()) {
        lock.withLock {
            let outcome = state.ingest(json: json, kafkaTimestamp: kafkaTimestamp)
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

    /// Sets the newest consumer-lag measurement (the reader's ``LagProbe``); a new version only
    /// when a figure changed (not for a new `checkedAt`), so an idle page gets "unchanged" answers.
    public func setLag(_ value: ConsumerLag) {
        lock.withLock {
            var old = consumerLag, new = value
            old?.checkedAt = 0
            new.checkedAt = 0
            if old != new { version += 1 }
            consumerLag = value
        }
    }

    /// The newest consumer-lag measurement, if any.
    public var lag: ConsumerLag? { lock.withLock { consumerLag } }

    public var snapshot: DashboardState { lock.withLock { state } }
    public var currentProblems: [String] { lock.withLock { problems.sorted { $0.key < $1.key }.map(\.value) } }

    // MARK: JSON API (written with WeirJSON's JSONWriter, compact)

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

    /// What the health strip says when there is no events/s figure.
    static func rateNote(_ c: DashboardConfiguration, _ rate: Double?) -> String? {
        guard rate == nil else { return nil }
        if c.topics.scores.isEmpty { return "no scores topic: the topology has no model" }
        return "no score records read from \(c.topics.scores) yet"
    }

    /// `/api/state`: everything but histograms (those come from ``histogramJSON(feature:window:)``).
    /// `since`: the version the page has; when nothing changed the body is `{"version":n,"unchanged":true}`.
    /// Each monitor's `windows` are rows whose columns are named by `window_fields` (``windowFields``).
    /// `after`: the `sequence` the page has; then only windows, timeline entries and performance
    /// points ingested after it are listed (`"incremental":true`; monitors' other fields, health
    /// and status are always whole). A page merges them by monitor and window number.
    /// - Complexity: O(size of the answer); one pass, written straight into one buffer.
    public func stateJSON(since: Int? = nil, after: Int? = nil, now: Date = Date()) -> Data {
        let (s, problems, connected, version, rate, lag, eventsPerSecond) = lock.withLock {
            () -> (DashboardState, [String], Bool, Int, Double, ConsumerLag?, Double?) in
            let recent = arrivals.filter { now.timeIntervalSince($0) <= 10 }
            // events/s moves with the clock (it falls to 0 when nothing is written): a changed figure is a new version.
            let events = state.sourceRate.perSecond(now: Int64(now.timeIntervalSince1970 * 1000)).map { ($0 * 10).rounded() / 10 }
            if events != servedRate {
                servedRate = events
                self.version += 1
            }
            return (state, self.problems.sorted { $0.key < $1.key }.map(\.value), self.connected, self.version,
                    Double(recent.count) / 10, consumerLag, events)
        }
        var j = JSONWriter(capacity: 4096)
        if let since, since == version {
            j.beginObject(); j.field("version", version); j.field("unchanged", true); j.endObject()
            return Data(j.bytes)
        }
        let c = configuration
        let incremental = after.map { $0 >= 0 && $0 <= s.sequence } ?? false
        let cut = incremental ? after! : 0
        j.beginObject()
        j.field("version", version)
        j.field("instance", instance)
        j.field("sequence", s.sequence)
        j.field("incremental", incremental)
        j.field("after", cut)
        j.field("topology", c.topology)
        j.field("brokers", c.brokers)
        j.beginObject("topics")
        j.field("drift", c.topics.drift); j.field("alerts", c.topics.alerts); j.field("retrain", c.topics.retrain)
        j.field("models", c.topics.models); j.field("scores", c.topics.scores); j.field("source", c.sourceTopic)
        j.endObject()
        j.beginObject("status"); j.field("connected", connected); j.field("problems", strings: problems); j.endObject()
        j.beginObject("thresholds")
        j.field("psi", c.thresholds.psi); j.field("ks_pvalue", c.thresholds.ksPValue)
        j.field("ks_min_statistic", c.thresholds.ksMinStatistic); j.field("chi2_pvalue", c.thresholds.chi2PValue)
        j.endObject()
        j.beginObject("limits")
        j.field("windows_per_monitor", c.limits.windowsPerMonitor); j.field("timeline_entries", c.limits.timelineEntries)
        j.field("score_minutes", c.limits.scoreMinutes)
        j.endObject()
        j.beginObject("health")
        j.field("drift_records_per_second", rate)
        j.field("events_per_second", eventsPerSecond)
        j.field("events_per_second_note", Self.rateNote(c, eventsPerSecond))
        Self.write(lag: lag, configuration: c, into: &j)
        j.field("model_version", s.modelVersion)
        j.field("open_alerts", s.openAlerts.count)
        if let l = s.lastDrift {
            j.beginObject("last_drift"); j.field("feature", l.feature); j.field("window", l.window); j.field("last_event_time", l.lastEventTime); j.endObject()
        } else {
            j.nullField("last_drift")
        }
        j.beginObject("records")
        for (k, n) in s.counts.sorted(by: { $0.key < $1.key }) { j.field(k, n) }
        j.endObject()
        j.endObject()
        j.field("window_fields", strings: Self.windowFields)
        j.field("score_fields", strings: Self.scoreFields)
        j.beginArray("scores")
        for b in s.scores where b.seq > cut {
            j.beginArray()
            j.value(b.time); j.value(b.count); j.value(Self.figure(b.scoreSum / Double(b.count))); j.value(b.labelled)
            j.value(b.labelled > 0 ? Self.figure(b.logLossSum / Double(b.labelled)) : nil)
            j.value(b.labelled > 0 ? Self.figure(Double(b.correct) / Double(b.labelled)) : nil)
            j.value(b.modelVersion)
            j.beginArray(); for n in b.histogram { j.value(n) }; j.endArray()
            j.endArray()
        }
        j.endArray()
        j.field("dropped_score_minutes", s.droppedScoreMinutes)
        j.beginArray("monitors")
        for m in s.monitors.values.sorted(by: { $0.feature < $1.feature }) {
            j.beginObject()
            j.field("feature", m.feature); j.field("kind", m.kind); j.field("dropped_windows", m.droppedWindows)
            j.field("alerts_opened", m.alertsOpened)
            j.beginArray("windows")
            for w in m.windows where w.seq > cut {
                j.beginArray()
                j.value(w.window); j.value(w.firstEventTime); j.value(w.lastEventTime); j.value(w.nCurrent)
                j.value(Self.figure(w.psi)); j.value(Self.figure(w.ksStatistic)); j.value(Self.figure(w.ksPValue))
                j.value(Self.figure(w.chi2PValue)); j.value(w.drifted ? 1 : 0)
                j.beginArray(); for r in w.reasons { j.value(r) }; j.endArray()
                j.value(Self.newCategories(w.histogram).count)
                j.endArray()
            }
            j.endArray()
            j.endObject()
        }
        j.endArray()
        j.beginArray("timeline")
        for e in s.timeline where e.seq > cut {
            j.beginObject()
            j.field("kind", e.kind); j.field("id", e.id); j.field("feature", e.feature); j.field("window", e.window)
            j.field("time", e.time); j.field("detail", e.detail); j.field("reasons", strings: e.reasons)
            j.endObject()
        }
        j.endArray()
        j.field("dropped_timeline_entries", s.droppedEntries)
        j.beginArray("performance")
        for p in s.performance where p.seq > cut {
            j.beginObject()
            j.field("time", p.time); j.field("decision", p.decision); j.field("champion_version", p.championVersion)
            j.field("challenger_version", p.challengerVersion); j.field("champion_log_loss", p.championLogLoss)
            j.field("challenger_log_loss", p.challengerLogLoss); j.field("champion_accuracy", p.championAccuracy)
            j.field("challenger_accuracy", p.challengerAccuracy); j.field("shadow_events", p.shadowEvents)
            j.endObject()
        }
        j.endArray()
        j.endObject()
        return Data(j.bytes)
    }

    /// `health.consumer_lag`: `total` (nil when unknown), `note` (why, or what it leaves out),
    /// the group, topic, per-partition `[partition, committed, high]` rows and when it was measured.
    static func write(lag: ConsumerLag?, configuration c: DashboardConfiguration, into j: inout JSONWriter) {
        j.beginObject("consumer_lag")
        j.field("group", lag?.group ?? c.group)
        j.field("topic", lag?.topic ?? c.sourceTopic)
        j.field("total", lag?.total)
        if let lag { j.field("note", lag.note) } else { j.field("note", c.sourceTopic.isEmpty ? "no source topic" : "not measured yet") }
        j.beginArray("partitions")
        for p in lag?.partitions ?? [] {
            j.beginArray(); j.value(Int(p.partition)); j.value(p.committed); j.value(p.high); j.endArray()
        }
        j.endArray()
        j.field("checked_at", lag?.checkedAt)
        j.endObject()
    }

    /// `/api/histogram?feature=F&window=N`: the window's histogram, with the categories that the
    /// reference never saw listed in `new_categories`; nil when the window is not in the history.
    public func histogramJSON(feature: String, window: Int) -> Data? {
        let s = snapshot
        guard let w = s.monitors[feature]?.windows.last(where: { $0.window == window }) else { return nil }
        var j = JSONWriter(capacity: 1024)
        j.beginObject()
        j.field("feature", feature); j.field("window", window); j.field("kind", s.monitors[feature]?.kind ?? "numeric")
        j.field("first_event_time", w.firstEventTime); j.field("last_event_time", w.lastEventTime)
        j.field("psi", w.psi); j.field("drifted", w.drifted)
        if let h = w.histogram {
            j.beginObject("histogram")
            if let e = h.edges { j.field("edges", doubles: e) } else { j.nullField("edges") }
            if let cats = h.categories { j.field("categories", strings: cats) } else { j.nullField("categories") }
            j.field("reference", doubles: h.reference); j.field("current", doubles: h.current)
            j.endObject()
        } else {
            j.nullField("histogram")
        }
        j.field("new_categories", strings: Self.newCategories(w.histogram))
        j.endObject()
        return Data(j.bytes)
    }

    /// An error body: `{"error": message, …}` with the given extra string or integer fields.
    static func errorJSON(_ message: String, feature: String? = nil, window: Int? = nil) -> Data {
        var j = JSONWriter(capacity: 128)
        j.beginObject()
        j.field("error", message)
        if let feature { j.field("feature", feature) }
        if let window { j.field("window", window) }
        j.endObject()
        return Data(j.bytes)
    }

    /// Categories with no reference share and some current share.
    static func newCategories(_ h: DashboardState.Histogram?) -> [String] {
        guard let h, let cats = h.categories else { return [] }
        return cats.indices.filter { $0 < h.reference.count && $0 < h.current.count && h.reference[$0] == 0 && h.current[$0] > 0 }.map { cats[$0] }
    }
}
