import Foundation

/// What `weir dashboard` knows: the history per drift monitor, alerts, retrain requests and model
/// records, built only from the topology's sink records by ``ingest(_:)`` (pure: no I/O, no clock).
///
/// Bounded: each monitor keeps its newest ``Limits/windowsPerMonitor`` windows and the timeline
/// its newest ``Limits/timelineEntries`` entries; how many were dropped is counted, so the page
/// can say how far back it goes.
public struct DashboardState: Sendable, Equatable {
    /// History bounds.
    public struct Limits: Sendable, Equatable {
        public var windowsPerMonitor: Int
        public var timelineEntries: Int
        /// Minutes of event time kept from the score records.
        public var scoreMinutes: Int
        public init(windowsPerMonitor: Int = 2_000, timelineEntries: Int = 2_000, scoreMinutes: Int = 2_000) {
            self.windowsPerMonitor = max(1, windowsPerMonitor)
            self.timelineEntries = max(1, timelineEntries)
            self.scoreMinutes = max(1, scoreMinutes)
        }
    }

    /// A drift record's histogram: bins cut at `edges` (numeric) or named by `categories`.
    public struct Histogram: Sendable, Equatable {
        public var edges: [Double]?
        public var categories: [String]?
        public var reference: [Double]
        public var current: [Double]
    }

    /// One drift window of one monitor.
    public struct Window: Sendable, Equatable {
        public var window: Int
        public var firstEventTime: Int64?
        public var lastEventTime: Int64?
        public var nCurrent: Int?
        public var psi: Double?
        public var ksStatistic: Double?
        public var ksPValue: Double?
        public var chi2PValue: Double?
        public var drifted: Bool
        public var reasons: [String]
        public var histogram: Histogram?
        /// ``DashboardState/sequence`` when it was ingested (for incremental reads).
        public var seq = 0
    }

    /// One monitored field.
    public struct Monitor: Sendable, Equatable {
        public var feature: String
        public var kind: String
        public var windows: [Window] = []
        /// Windows dropped from the front to stay within the bound.
        public var droppedWindows = 0
        /// Alerts opened for this field.
        public var alertsOpened = 0
    }

    /// An alert, retrain request, model version or model decision, in arrival order.
    public struct Entry: Sendable, Equatable {
        /// `alert_opened`, `alert_resolved`, `retrain_request`, `model_version`, `model_trained`,
        /// `model_promoted`, `model_rejected`.
        public var kind: String
        public var id: String
        public var feature: String?
        public var window: Int?
        /// Epoch ms when the record carries one (model records), else nil.
        public var time: Int64?
        public var detail: String
        public var reasons: [String]
        /// ``DashboardState/sequence`` when it was ingested.
        public var seq = 0
    }

    /// Champion and challenger figures of a model decision (shadow evaluation).
    public struct Performance: Sendable, Equatable {
        public var time: Int64
        public var decision: String
        public var championVersion: Int?
        public var challengerVersion: Int?
        public var championLogLoss: Double?
        public var challengerLogLoss: Double?
        public var championAccuracy: Double?
        public var challengerAccuracy: Double?
        public var shadowEvents: Int?
        /// ``DashboardState/sequence`` when it was ingested.
        public var seq = 0
    }

    /// One minute of event time of score records: the serving model's prequential figures (each
    /// score is made before the model learns from the event's label) and the score distribution.
    public struct ScoreMinute: Sendable, Equatable {
        /// Start of the minute, epoch ms.
        public var time: Int64
        public var count = 0
        public var scoreSum = 0.0
        /// Score records carrying a label (0 or 1).
        public var labelled = 0
        /// Sum of the log losses of the labelled ones (scores clipped to [1e-15, 1 − 1e-15]).
        public var logLossSum = 0.0
        /// Labelled ones where (score ≥ 0.5) equals (label = 1).
        public var correct = 0
        /// Scores per tenth: [0, 0.1), …, [0.9, 1].
        public var histogram = [Int](repeating: 0, count: 10)
        /// The newest `model_version` seen in the minute.
        public var modelVersion: Int?
        public var seq = 0
    }

    public let limits: Limits
    /// Score minutes, oldest first, at most ``Limits/scoreMinutes`` (the oldest are dropped).
    public private(set) var scores: [ScoreMinute] = []
    public private(set) var droppedScoreMinutes = 0
    /// Monitors by feature name.
    public private(set) var monitors: [String: Monitor] = [:]
    public private(set) var timeline: [Entry] = []
    public private(set) var droppedEntries = 0
    public private(set) var performance: [Performance] = []
    /// Open alerts: alert id → feature.
    public private(set) var openAlerts: [String: String] = [:]
    public private(set) var modelVersion: Int?
    /// Records ingested by kind (`drift`, `alert`, `retrain_request`, `model`), and records ignored.
    public private(set) var counts: [String: Int] = [:]
    /// Number of records ingested that changed the state; every window, entry and performance
    /// point is stamped with it, so a reader can ask for what changed after a given sequence.
    public private(set) var sequence = 0
    /// The drift record seen last.
    public struct LastDrift: Sendable, Equatable {
        public var feature: String
        public var window: Int
        public var lastEventTime: Int64?
    }
    public private(set) var lastDrift: LastDrift?
    /// The source's consumption rate, from the score records' source offsets and Kafka timestamps.
    public private(set) var sourceRate = SourceRate()

    public init(limits: Limits = Limits()) { self.limits = limits }

    /// What ``ingest(_:)`` did with a record.
    public enum Outcome: String, Sendable, Equatable {
        case drift, alert, retrainRequest = "retrain_request", model, score, ignored
    }

    /// Folds one sink record (a parsed JSON object) into the state. Records are recognised by
    /// their own fields (`record`: drift/alert/retrain_request; `type`: model_*), so the topic
    /// they came from does not matter; anything else is counted as ignored. `kafkaTimestamp`
    /// (epoch ms, when `weir run` wrote the record) feeds ``sourceRate`` from score records.
    @discardableResult
    public mutating func ingest(_ r: [String: Any], kafkaTimestamp: Int64? = nil) -> Outcome {
        sequence += 1
        let outcome: Outcome
        switch (r["record"] as? String, r["type"] as? String) {
        case ("drift", _): outcome = ingestDrift(r)
        case ("alert", _): outcome = ingestAlert(r)
        case ("retrain_request", _): outcome = ingestRetrain(r)
        case (_, let t?) where t.hasPrefix("model_"): outcome = ingestModel(r, type: t)
        case (nil, nil) where r["score"] is NSNumber && r["event_time"] is NSNumber: outcome = ingestScore(r, kafkaTimestamp: kafkaTimestamp)
        default: outcome = .ignored
        }
        if outcome == .ignored { sequence -= 1 }
        counts[outcome.rawValue, default: 0] += 1
        return outcome
    }

    /// Parses one message value (JSON bytes) and ingests it; undecodable bytes are ignored.
    @discardableResult
    public mutating func ingest(json bytes: Data, kafkaTimestamp: Int64? = nil) -> Outcome {
        guard let r = (try? JSONSerialization.jsonObject(with: bytes)) as? [String: Any] else {
            counts[Outcome.ignored.rawValue, default: 0] += 1
            return .ignored
        }
        return ingest(r, kafkaTimestamp: kafkaTimestamp)
    }

    private mutating func ingestDrift(_ r: [String: Any]) -> Outcome {
        guard let feature = r["feature"] as? String, let window = Self.int(r["window"]) else { return .ignored }
        var hist: Histogram?
        if let h = r["histogram"] as? [String: Any], let ref = Self.doubles(h["reference"]), let cur = Self.doubles(h["current"]) {
            hist = Histogram(edges: Self.doubles(h["edges"]), categories: h["categories"] as? [String], reference: ref, current: cur)
        }
        let w = Window(window: window, firstEventTime: Self.int64(r["first_event_time"]), lastEventTime: Self.int64(r["last_event_time"]),
                       nCurrent: Self.int(r["n_current"]), psi: Self.double(r["psi"]), ksStatistic: Self.double(r["ks_statistic"]),
                       ksPValue: Self.double(r["ks_pvalue"]), chi2PValue: Self.double(r["chi2_pvalue"]),
                       drifted: Self.bool(r["drifted"]) ?? false, reasons: r["drift_reasons"] as? [String] ?? [], histogram: hist,
                       seq: sequence)
        var m = monitors[feature] ?? Monitor(feature: feature, kind: r["kind"] as? String ?? "numeric")
        if let i = m.windows.lastIndex(where: { $0.window == window }) {
            m.windows[i] = w  // a duplicate (at-least-once) or a replay of the same window replaces it
        } else {
            m.windows.append(w)
            if m.windows.last.map({ $0.window < window }) == false { m.windows.sort { $0.window < $1.window } }
        }
        if m.windows.count > limits.windowsPerMonitor {
            let extra = m.windows.count - limits.windowsPerMonitor
            m.windows.removeFirst(extra)
            m.droppedWindows += extra
        }
        monitors[feature] = m
        lastDrift = LastDrift(feature: feature, window: window, lastEventTime: w.lastEventTime)
        return .drift
    }

    private mutating func ingestAlert(_ r: [String: Any]) -> Outcome {
        guard let id = r["alert_id"] as? String, let status = r["status"] as? String,
              let feature = r["feature"] as? String else { return .ignored }
        let stats = r["statistics"] as? [String: Any] ?? [:]
        let psi = Self.double(stats["psi"]).map { String(format: "PSI %.3f", $0) }
        let detail = [r["severity"] as? String, psi].compactMap { $0 }.joined(separator: ", ")
        if status == "opened" {
            if openAlerts[id] == nil { monitors[feature, default: Monitor(feature: feature, kind: r["kind"] as? String ?? "numeric")].alertsOpened += 1 }
            openAlerts[id] = feature
        } else {
            openAlerts[id] = nil
        }
        append(Entry(kind: "alert_\(status)", id: id, feature: feature, window: Self.int(r["window"]), time: nil,
                     detail: detail, reasons: r["reasons"] as? [String] ?? []))
        return .alert
    }

    private mutating func ingestRetrain(_ r: [String: Any]) -> Outcome {
        guard let id = r["request_id"] as? String else { return .ignored }
        let fields = (r["fields"] as? [String] ?? []).joined(separator: ", ")
        append(Entry(kind: "retrain_request", id: id, feature: nil, window: Self.int(r["window"]), time: nil,
                     detail: "fields: \(fields)", reasons: [r["reason"] as? String].compactMap { $0 }))
        return .retrainRequest
    }

    private mutating func ingestModel(_ r: [String: Any], type: String) -> Outcome {
        if type == "model_version" {
            guard let v = Self.int(r["version"]) else { return .ignored }
            modelVersion = max(modelVersion ?? v, v)
            let parent = Self.int(r["parent_version"]).map { "parent v\($0)" }
            append(Entry(kind: type, id: "\(r["model_id"] as? String ?? "model") v\(v)", feature: nil, window: nil,
                         time: Self.int64(r["created_at"]), detail: [parent].compactMap { $0 }.joined(),
                         reasons: [r["reason"] as? String].compactMap { $0 }))
            return .model
        }
        let champion = Self.int(r["champion_version"]), challenger = Self.int(r["challenger_version"])
        let time = Self.int64(r["time"])
        let metrics = r["metrics"] as? [String: Any] ?? [:]
        append(Entry(kind: type, id: "\(r["model_id"] as? String ?? "model") v\(challenger.map(String.init) ?? "?")",
                     feature: nil, window: nil, time: time,
                     detail: "champion v\(champion.map(String.init) ?? "?") vs challenger v\(challenger.map(String.init) ?? "?")"
                         + ((r["detail"] as? String).map { " (\($0))" } ?? ""),
                     reasons: [r["reason"] as? String].compactMap { $0 }))
        // A decision made before any shadow event (`model_trained` carries zeros then) is no measurement.
        let measured = (Self.int(metrics["shadow_events"]) ?? 1) > 0
        if let time, measured, Self.double(metrics["champion_log_loss"]) != nil || Self.double(metrics["champion_accuracy"]) != nil {
            performance.append(Performance(time: time, decision: type, championVersion: champion, challengerVersion: challenger,
                                           championLogLoss: Self.double(metrics["champion_log_loss"]),
                                           challengerLogLoss: Self.double(metrics["challenger_log_loss"]),
                                           championAccuracy: Self.double(metrics["champion_accuracy"]),
                                           challengerAccuracy: Self.double(metrics["challenger_accuracy"]),
                                           shadowEvents: Self.int(metrics["shadow_events"]), seq: sequence))
            if performance.count > limits.timelineEntries { performance.removeFirst(performance.count - limits.timelineEntries) }
        }
        return .model
    }

    private mutating func ingestScore(_ r: [String: Any], kafkaTimestamp: Int64?) -> Outcome {
        guard let p = Self.double(r["score"]), let t = Self.int64(r["event_time"]) else { return .ignored }
        if let written = kafkaTimestamp, let topic = r["topic"] as? String, let partition = Self.int(r["partition"]),
           let offset = Self.int64(r["offset"]) {
            sourceRate.record(topic: topic, partition: partition, offset: offset, time: written)
        }
        let minute = t - ((t % 60_000) + 60_000) % 60_000
        var i = scores.count
        while i > 0 && scores[i - 1].time > minute { i -= 1 }
        if i == 0 || scores[i - 1].time != minute {
            if scores.count >= limits.scoreMinutes && i == 0 { return .ignored }  // older than everything kept
            scores.insert(ScoreMinute(time: minute), at: i)
            i += 1
            if scores.count > limits.scoreMinutes {
                scores.removeFirst(scores.count - limits.scoreMinutes)
                droppedScoreMinutes += 1
                i -= 1
            }
        }
        var b = scores[i - 1]
        b.count += 1
        b.scoreSum += p
        b.histogram[min(9, max(0, Int(p * 10)))] += 1
        if let label = Self.int(r["label"]), label == 0 || label == 1 {
            let q = min(max(p, 1e-15), 1 - 1e-15)
            b.labelled += 1
            b.logLossSum += label == 1 ? -log(q) : -log(1 - q)
            if (p >= 0.5) == (label == 1) { b.correct += 1 }
        }
        if let v = Self.int(r["model_version"]) { b.modelVersion = max(b.modelVersion ?? v, v) }
        b.seq = sequence
        scores[i - 1] = b
        return .score
    }

    private mutating func append(_ e: Entry) {
        var e = e
        e.seq = sequence
        timeline.append(e)
        if timeline.count > limits.timelineEntries {
            timeline.removeFirst(timeline.count - limits.timelineEntries)
            droppedEntries += 1
        }
    }

    // MARK: JSON values (Foundation's JSONSerialization gives NSNumber on Linux)

    static func double(_ v: Any?) -> Double? {
        guard let n = v as? NSNumber else { return nil }
        let d = n.doubleValue
        return d.isFinite ? d : nil
    }
    static func int(_ v: Any?) -> Int? { (v as? NSNumber).map { $0.intValue } }
    static func int64(_ v: Any?) -> Int64? { (v as? NSNumber).map { $0.int64Value } }
    static func bool(_ v: Any?) -> Bool? { v as? Bool }
    static func doubles(_ v: Any?) -> [Double]? {
        guard let a = v as? [Any] else { return nil }
        return a.map { double($0) ?? 0 }
    }
}
