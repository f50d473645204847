import Foundation
import CoreMetrics
import WeirCore
import WeirDrift
import WeirTopology

/// The runtime's metrics, through the swift-metrics API only (the exporter is chosen by whoever
/// bootstraps `MetricsSystem`; `weir run` serves Prometheus text, see `docs/metrics.md`).
///
/// Handles are created once (per topic, window, partition or feature the first time it is seen)
/// and updated per batch from ``Pipeline/counters`` deltas, never per event: the per-event cost
/// of metrics is zero, the per-batch cost a few dozen atomic adds. Drift and alert figures come
/// from the pipeline's typed ``MonitorEvent``s (set it as ``Pipeline/monitorObserver``), once per
/// record, never by parsing a record. Without a bootstrapped metrics system every handle is a no-op.
///
/// Thread-safety: the handles are the metrics system's (thread-safe). Of its own state, the lag
/// gauges (``setLag(_:topic:)``) are kept under a lock: a partitioned instance's tasks and its
/// global stage update them from two threads. The rest is updated by one thread per kind: the
/// per-pipeline figures by whoever owns the ``Seen`` they pass, the decode-error and drift series
/// by the pipelines that have them (tasks; the global stage). HTTP scrapes read the exporter's
/// registry, not this object.
public final class RuntimeMetrics: MonitorObserver, @unchecked Sendable {
    private let sourceTopic: String
    private let eventsIn: Counter
    private let eventsOut: [Counter]  // by OutputKind.rawValue
    private let deadLettersOut: Counter
    private let deadLetters: [Counter]  // by DeadLetterReason
    private var decodeErrors: [DecodeErrorKey: Counter] = [:]
    private let lateEvents: [Counter]  // by window
    private let windowResults: Counter
    private let windowKeys: [Gauge]
    private let windowOpen: [Gauge]
    private let windowBytes: [Gauge]
    private let windowRejectedKeys: [Gauge]
    /// The window state against its budget (`state.memory_limit`), when the topology sets one.
    private let stateLimit: Gauge?, stateLevel: Gauge?
    private let scored: Counter
    private let labelled: Counter
    private let modelVersion: Gauge
    private let modelLogLoss: Gauge
    private let modelAccuracy: Gauge
    private let modelDecisions: Counter
    private let retrainRequests: Counter
    private let batchDuration: CoreMetrics.Timer
    private let batchEvents: Recorder
    private let offsetCommits: Counter
    private let rebalances: Counter
    private let assigned: Gauge
    private let transactionCommits: Counter
    private let transactionAborts: Counter
    private let alertsOpen: Gauge
    private let alertsOpened: Counter
    private let alertsResolved: Counter
    /// Lag gauges by topic, then partition (the source; the label topic; `<name>.global` at the global stage).
    private var lag: [String: [Int32: Gauge]] = [:]
    private let lagLock = NSLock()
    /// Labels read from `model.label_topic` and held for their turn (nil without a label topic).
    private let labelsHeld: Gauge?
    private var drift: [String: DriftHandles] = [:]
    private var openAlerts = Set<String>()

    /// What the single pipeline of one instance last showed (``batchProcessed(_:events:duration:)``).
    private var seen = Seen()
    private var lastRefresh: ContinuousClock.Instant?
    private let clock = ContinuousClock()
    private let windowNames: [String]
    private let windowIndex: [String: Int]

    /// What the metrics last saw of one pipeline, so that each update adds only that pipeline's
    /// progress since. A runner with several pipelines (partitioned mode: one task per source
    /// partition, and the global stage) keeps one per pipeline, started from the pipeline as
    /// restored (``init(_:)``) so that totals restored from a checkpoint are not counted again.
    public struct Seen: Sendable {
        var counters = PipelineCounters()
        /// Late events per window of the pipeline's graph (by its index there).
        var late: [Int] = []

        public init() {}
        public init(_ pipeline: Pipeline) {
            counters = pipeline.counters
            late = pipeline.graph.windows.map(\.stats.lateEvents)
        }
    }

    private struct DecodeErrorKey: Hashable { var reason: Int; var field: Int }
    private struct DriftHandles {
        var psi: Gauge
        var ksStatistic: Gauge
        var ksPValue: Gauge
        var windows: Counter
        var drifted: Counter
    }

    /// Dead-letter reasons: the ``DecodeError`` kinds, in a fixed order (label `reason`).
    public static let deadLetterReasons = ["malformed_json", "missing_required", "wrong_type", "out_of_range",
                                           "not_finite", "unknown_category", "invalid_timestamp"]

    /// - Parameters:
    ///   - compiled: the running topology (windows, sinks, model).
    ///   - sourceTopic: the topic read (label `topic` of `weir_events_in_total`).
    ///   - factory: where the handles go (the bootstrapped metrics system unless a test passes its own).
    public init(compiled: CompiledTopology, sourceTopic: String, factory: any MetricsFactory = MetricsSystem.factory) {
        self.sourceTopic = sourceTopic
        self.factory = factory
        let sinks = compiled.spec.sinks
        let topology = compiled.spec.name
        let t = ("topology", topology)
        eventsIn = Counter(label: "weir_events_in_total", dimensions: [t, ("topic", sourceTopic)], factory: factory)
        eventsOut = OutputKind.allCases.map {
            Counter(label: "weir_events_out_total", dimensions: [t, ("topic", KafkaSink.topicName($0, sinks)), ("kind", $0.name)], factory: factory)
        }
        deadLettersOut = Counter(label: "weir_events_out_total", dimensions: [t, ("topic", sinks.deadLetters), ("kind", "dead_letters")], factory: factory)
        deadLetters = Self.deadLetterReasons.map { Counter(label: "weir_dead_letters_total", dimensions: [t, ("reason", $0)], factory: factory) }
        windowNames = compiled.graph.windows.map(\.name)
        lateEvents = windowNames.map { Counter(label: "weir_late_events_total", dimensions: [t, ("window", $0)], factory: factory) }
        windowIndex = Dictionary(windowNames.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
        windowResults = Counter(label: "weir_window_results_total", dimensions: [t], factory: factory)
        windowKeys = windowNames.map { Gauge(label: "weir_window_keys", dimensions: [t, ("window", $0)], factory: factory) }
        windowOpen = windowNames.map { Gauge(label: "weir_window_open_windows", dimensions: [t, ("window", $0)], factory: factory) }
        windowBytes = windowNames.map { Gauge(label: "weir_window_state_bytes", dimensions: [t, ("window", $0)], factory: factory) }
        windowRejectedKeys = windowNames.map { Gauge(label: "weir_window_rejected_key_events", dimensions: [t, ("window", $0)], factory: factory) }
        let budgeted = compiled.spec.state.memoryLimitBytes != nil
        stateLimit = budgeted ? Gauge(label: "weir_state_memory_limit_bytes", dimensions: [t], factory: factory) : nil
        stateLevel = budgeted ? Gauge(label: "weir_state_memory_level", dimensions: [t], factory: factory) : nil
        scored = Counter(label: "weir_model_scored_total", dimensions: [t], factory: factory)
        labelled = Counter(label: "weir_model_labelled_total", dimensions: [t], factory: factory)
        modelVersion = Gauge(label: "weir_model_version", dimensions: [t], factory: factory)
        modelLogLoss = Gauge(label: "weir_model_prequential_log_loss", dimensions: [t], factory: factory)
        modelAccuracy = Gauge(label: "weir_model_prequential_accuracy", dimensions: [t], factory: factory)
        modelDecisions = Counter(label: "weir_model_decisions_total", dimensions: [t], factory: factory)
        retrainRequests = Counter(label: "weir_retrain_requests_total", dimensions: [t], factory: factory)
        batchDuration = CoreMetrics.Timer(label: "weir_batch_duration_seconds", dimensions: [t], factory: factory)
        batchEvents = Recorder(label: "weir_batch_events", dimensions: [t], aggregate: true, factory: factory)
        offsetCommits = Counter(label: "weir_offset_commits_total", dimensions: [t], factory: factory)
        rebalances = Counter(label: "weir_rebalances_total", dimensions: [t], factory: factory)
        assigned = Gauge(label: "weir_assigned_partitions", dimensions: [t], factory: factory)
        transactionCommits = Counter(label: "weir_transactions_total", dimensions: [t, ("outcome", "commit")], factory: factory)
        transactionAborts = Counter(label: "weir_transactions_total", dimensions: [t, ("outcome", "abort")], factory: factory)
        alertsOpen = Gauge(label: "weir_alerts_open", dimensions: [t], factory: factory)
        alertsOpened = Counter(label: "weir_alerts_total", dimensions: [t, ("status", "opened")], factory: factory)
        alertsResolved = Counter(label: "weir_alerts_total", dimensions: [t, ("status", "resolved")], factory: factory)
        labelsHeld = compiled.spec.model?.labelTopic == nil ? nil : Gauge(label: "weir_labels_held", dimensions: [t], factory: factory)
        self.topology = topology
        alertsOpen.record(0)
        assigned.record(0)
    }

    private let topology: String
    private let factory: any MetricsFactory

    // MARK: per batch

    /// After ``Pipeline/process(_:topic:now:into:)``: counts the batch's input events, its dead
    /// letters by reason (and by reason and field), every output written, and its duration.
    /// - Complexity: O(dead letters in the batch + windows); nothing per valid event.
    public func batchProcessed(_ pipeline: Pipeline, events: Int, duration: Duration) {
        batchProcessed(pipeline, events: events, duration: duration, seen: &seen)
        refreshIfDue(pipeline)
    }

    /// ``batchProcessed(_:events:duration:)`` for one of several pipelines (partitioned mode: a
    /// task's batch), with what was last seen of it; gauges are the runner's to refresh
    /// (``refreshGauges(_:)`` over all of them).
    public func batchProcessed(_ pipeline: Pipeline, events: Int, duration: Duration, seen: inout Seen) {
        eventsIn.increment(by: Int64(events))
        batchEvents.record(events)
        let (s, a) = duration.components
        batchDuration.recordNanoseconds(s * 1_000_000_000 + a / 1_000_000_000)
        for d in pipeline.graph.outputs.deadLetters {
            let r = Self.reasonIndex(d.error)
            deadLetters[r].increment()
            let f = d.error.fieldIndex ?? -1
            let key = DecodeErrorKey(reason: r, field: f)
            if let c = decodeErrors[key] {
                c.increment()
            } else {
                let names = pipeline.compiled.graph.schema.fields
                let field = f >= 0 && f < names.count ? names[f].name : ""
                let c = Counter(label: "weir_decode_errors_total",
                                dimensions: [("topology", topology), ("reason", Self.deadLetterReasons[r]), ("field", field)], factory: factory)
                decodeErrors[key] = c
                c.increment()
            }
        }
        outputsWritten(pipeline, seen: &seen)
    }

    /// After ``Pipeline/tick(now:into:)`` or ``Pipeline/finish(into:)``: counts outputs written
    /// without input (windows fired by the clock, drift windows closed).
    public func outputsWritten(_ pipeline: Pipeline) {
        outputsWritten(pipeline, seen: &seen)
        refreshIfDue(pipeline)
    }

    /// ``outputsWritten(_:)`` for one of several pipelines, with what was last seen of it. A
    /// task's scores are counted, not its labels (the global stage learns from them); the global
    /// stage's labels are, not its scores (it scores the tasks' events again, to learn).
    public func outputsWritten(_ pipeline: Pipeline, seen: inout Seen) {
        let c = pipeline.counters
        let last = seen.counters
        let (countsScores, countsLabels): (Bool, Bool)
        switch pipeline.role {
        case .whole: (countsScores, countsLabels) = (true, true)
        case .task: (countsScores, countsLabels) = (true, false)
        case .global: (countsScores, countsLabels) = (false, true)
        }
        func add(_ kind: OutputKind, _ now: Int, _ before: Int) {
            if now > before { eventsOut[kind.rawValue].increment(by: Int64(now - before)) }
        }
        if countsScores { add(.scores, c.scored, last.scored) }
        add(.windows, c.windowResults, last.windowResults)
        add(.late, c.lateEvents, last.lateEvents)
        add(.drift, c.driftRecords, last.driftRecords)
        add(.alerts, c.alerts, last.alerts)
        add(.retrain, c.retrainRequests, last.retrainRequests)
        add(.models, c.modelDecisions, last.modelDecisions)
        if c.deadLetters > last.deadLetters { deadLettersOut.increment(by: Int64(c.deadLetters - last.deadLetters)) }
        if countsScores && c.scored > last.scored { scored.increment(by: Int64(c.scored - last.scored)) }
        if countsLabels && c.labelled > last.labelled { labelled.increment(by: Int64(c.labelled - last.labelled)) }
        if c.windowResults > last.windowResults { windowResults.increment(by: Int64(c.windowResults - last.windowResults)) }
        if c.modelDecisions > last.modelDecisions { modelDecisions.increment(by: Int64(c.modelDecisions - last.modelDecisions)) }
        if c.retrainRequests > last.retrainRequests { retrainRequests.increment(by: Int64(c.retrainRequests - last.retrainRequests)) }
        seen.counters = c
        let windows = pipeline.graph.windows
        let names = pipeline.compiled.graph.windows
        if seen.late.count < windows.count { seen.late += Array(repeating: 0, count: windows.count - seen.late.count) }
        for w in 0..<min(windows.count, names.count) {
            let n = windows[w].stats.lateEvents
            if n > seen.late[w], let i = windowIndex[names[w].name] { lateEvents[i].increment(by: Int64(n - seen.late[w])) }
            seen.late[w] = n
        }
    }

    private func refreshIfDue(_ pipeline: Pipeline) {
        let now = clock.now
        if lastRefresh.map({ now - $0 >= .milliseconds(500) }) ?? true {
            refreshGauges(pipeline)
            lastRefresh = now
        }
    }

    /// Window state sizes and model figures (gauges). Called at most twice a second from
    /// ``outputsWritten(_:)``; call it directly before a final scrape.
    /// - Complexity: O(windows).
    public func refreshGauges(_ pipeline: Pipeline) { refreshGauges(CollectionOfOne(pipeline)) }

    /// The gauges of an instance running several pipelines (partitioned mode: its tasks, and the
    /// global stage while it holds it): window figures summed by window name, the state level the
    /// highest of any, the model's figures from the pipeline that learns (one instance's, or
    /// the global stage's; none when this instance runs no such pipeline).
    /// `budget`: the instance's `state.memory_limit` kept outside the pipelines (a partitioned
    /// instance's over its tasks); nil: the pipelines' own.
    /// - Complexity: O(pipelines × windows); a caller passing a lazy map copies each `Pipeline`
    ///   value (a few kB), so call it at most a few times a second.
    public func refreshGauges<S: Sequence<Pipeline>>(_ pipelines: S, budget: StateBudget? = nil) {
        var keys = Array(repeating: 0, count: windowNames.count), open = keys, bytes = keys, rejected = keys
        var level: Int?, limit: Int?
        for pipeline in pipelines {
            let windows = pipeline.graph.windows
            let names = pipeline.compiled.graph.windows
            for w in 0..<min(windows.count, names.count) {
                guard let i = windowIndex[names[w].name] else { continue }
                keys[i] += windows[w].keyCount
                open[i] += windows[w].liveWindows
                bytes[i] += windows[w].stateBytes
                rejected[i] += windows[w].stats.rejectedKeyEvents
            }
            if let b = pipeline.stateBudget {
                limit = b.limit
                level = max(level ?? 0, b.level.rawValue)
            }
            if let m = pipeline.model, !pipeline.isTask {
                modelVersion.record(m.version)
                let p = m.prequential
                if p.logLoss.isFinite { modelLogLoss.record(p.logLoss) }
                if p.accuracy.isFinite { modelAccuracy.record(p.accuracy) }
            }
        }
        for i in 0..<windowNames.count {
            windowKeys[i].record(keys[i])
            windowOpen[i].record(open[i])
            windowBytes[i].record(bytes[i])
            windowRejectedKeys[i].record(rejected[i])
        }
        if let budget { (limit, level) = (budget.limit, budget.level.rawValue) }
        if let limit, let level {
            stateLimit?.record(limit)
            stateLevel?.record(level)
        }
    }

    // MARK: monitor events

    /// Keeps the last PSI and KS per field, the windows closed and drifted, and the open alerts,
    /// from the typed drift results and alerts (``Pipeline/monitorObserver``). Called once per
    /// drift record or alert, never per event. Non-finite statistics leave their gauge as it was
    /// (their records write them as `null`).
    public func monitored(_ event: MonitorEvent) {
        switch event {
        case .drift(let r):
            let psi = r.numeric?.psi ?? r.categorical?.psi
            window(r.feature, psi: psi, ks: r.numeric?.ksStatistic, p: r.numeric?.ksPValue, drifted: r.drifted)
        case .contractDrift(let r):
            window(r.feature, psi: r.psi, ks: r.ks, p: r.p, drifted: r.drift)
            // Contract mode alerts have no resolution record: a field's alert is open while its
            // latest window drifted.
            if !r.drift { closeAlert(r.feature) }
        case .alert(let a):
            switch a.status {
            case .opened: alertOpened(a.feature)
            case .resolved:
                alertsResolved.increment()
                closeAlert(a.feature)
            }
        case .contractAlert(let a):
            alertOpened(a.feature)
        }
    }

    private func window(_ feature: String, psi: Double?, ks: Double?, p: Double?, drifted: Bool) {
        let h = driftHandles(feature)
        if let psi, psi.isFinite { h.psi.record(psi) }
        if let ks, ks.isFinite { h.ksStatistic.record(ks) }
        if let p, p.isFinite { h.ksPValue.record(p) }
        h.windows.increment()
        if drifted { h.drifted.increment() }
    }

    private func alertOpened(_ feature: String) {
        alertsOpened.increment()
        openAlerts.insert(feature)
        alertsOpen.record(openAlerts.count)
    }

    private func closeAlert(_ feature: String) {
        if openAlerts.remove(feature) != nil { alertsOpen.record(openAlerts.count) }
    }

    private func driftHandles(_ feature: String) -> DriftHandles {
        if let h = drift[feature] { return h }
        let d = [("topology", topology), ("feature", feature)]
        let h = DriftHandles(psi: Gauge(label: "weir_drift_psi", dimensions: d, factory: factory),
                             ksStatistic: Gauge(label: "weir_drift_ks_statistic", dimensions: d, factory: factory),
                             ksPValue: Gauge(label: "weir_drift_ks_pvalue", dimensions: d, factory: factory),
                             windows: Counter(label: "weir_drift_windows_total", dimensions: d, factory: factory),
                             drifted: Counter(label: "weir_drift_windows_drifted_total", dimensions: d, factory: factory))
        drift[feature] = h
        return h
    }

    // MARK: consumer, commits, transactions

    /// Lag (messages between the high watermark and the next offset to process) per partition
    /// of `topic` (nil: the source topic); that topic's partitions absent from `lag` are dropped
    /// from the exposition, other topics' series are kept.
    public func setLag(_ lag: [Int32: Int64], topic: String? = nil) {
        let topic = topic ?? sourceTopic
        lagLock.lock()
        defer { lagLock.unlock() }
        var gauges = self.lag[topic] ?? [:]
        for (p, g) in gauges where lag[p] == nil {
            g.destroy()
            gauges.removeValue(forKey: p)
        }
        for (p, v) in lag {
            let g = gauges[p] ?? {
                let g = Gauge(label: "weir_consumer_lag", dimensions: [("topology", topology), ("topic", topic), ("partition", String(p))], factory: factory)
                gauges[p] = g
                return g
            }()
            g.record(v)
        }
        self.lag[topic] = gauges
    }

    /// Labels read from `model.label_topic` and held until the events before them are processed
    /// (one instance's timestamp merge, or the global stage's label merge).
    public func setLabelsHeld(_ count: Int) { labelsHeld?.record(count) }

    /// A rebalance gave or took partitions; `count` is the number now assigned.
    public func rebalanced(assignedCount count: Int) {
        rebalances.increment()
        assigned.record(count)
    }

    /// Offsets were committed (after the outputs they cover were acknowledged).
    public func offsetsCommitted() { offsetCommits.increment() }

    /// An exactly-once transaction committed.
    public func transactionCommitted() { transactionCommits.increment() }

    /// An exactly-once transaction aborted (its outputs are discarded and the batch replayed).
    public func transactionAborted() { transactionAborts.increment() }

    // MARK: helpers

    static func reasonIndex(_ e: DecodeError) -> Int {
        switch e {
        case .malformedJSON: return 0
        case .missingRequiredField: return 1
        case .wrongType: return 2
        case .outOfRange: return 3
        case .notFinite: return 4
        case .unknownCategory: return 5
        case .invalidTimestamp: return 6
        }
    }
}
