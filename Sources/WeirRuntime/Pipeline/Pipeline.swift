import WeirCore
import WeirDrift
import WeirJSON
import WeirModel
import WeirTopology

/// Running totals of a pipeline, for summaries and metrics.
public struct PipelineCounters: Sendable, Equatable {
    public var records = 0
    public var deadLetters = 0
    public var scored = 0
    public var labelled = 0
    public var windowResults = 0
    public var lateEvents = 0
    public var modelDecisions = 0
    /// Model-version records written to the model topic.
    public var modelVersions = 0
    /// The champion version last written to the model topic (0: none yet). State, not a
    /// statistic: a version record is written whenever the champion's version differs.
    public var publishedModelVersion = 0
    /// Label topic: labels joined to their scored event, labels with no pending event, events
    /// dropped unlabelled after the wait bound or the capacity, and undecodable label records.
    public var labelsJoined = 0
    public var labelsUnmatched = 0
    public var labelsExpired = 0
    public var labelDeadLetters = 0
    public var driftRecords = 0
    public var driftedRecords = 0
    public var alerts = 0
    public var retrainRequests = 0
}

/// A topology running on batches of raw messages, with no I/O of its own: decode/validate →
/// event time → windows → features → model (test-then-train) → records into an ``OutputSink``.
/// The same value runs behind `weir replay` (files) and `weir run` (Kafka).
///
/// Output records (see `docs/records.md`): one score per valid event when the topology has a
/// model; one window record per emitted window result; one late record per event later than the
/// allowed lateness; one dead letter per bad record (original bytes, reason, field, position).
public struct Pipeline: Sendable {
    /// Where a pipeline runs when a topology is partitioned over instances (`docs/scaling.md`).
    public enum Role: Sendable, Equatable {
        /// Everything in one process (one instance, `weir replay`, `weir demo`).
        case whole
        /// The task of one source partition: decodes, windows, features, and scores with the
        /// newest broadcast weights (``useWeights(_:)``); what the global stage needs of each
        /// scored event collects in a batch (``takeGlobalBatch(into:)``). No learning, no drift.
        case task(partition: Int32)
        /// The global stage: learns (test-then-train), monitors drift and gates, from the tasks'
        /// batches (``processGlobal(_:now:into:)``); its decoder only names categories.
        case global
    }

    public let role: Role
    public let compiled: CompiledTopology
    public internal(set) var graph: StreamGraph
    /// The topology's windowed features resolved against ``graph``'s operators, by name (what
    /// `GET /v1/features/{key}` serves); fixed by the compiled topology, so resolved once.
    let servedFeatureRefs: [ServedFeatureRef]
    public internal(set) var model: ModelStage?
    var drift: DriftStage?
    /// [metrics] Shown every drift record and alert, typed, as it is written (``MonitorEvent``);
    /// `weir run` sets its ``RuntimeMetrics`` here.
    public var monitorObserver: (any MonitorObserver)?
    /// [serving] Called during the long steps of processing (the judgement of a score monitor's
    /// window under one model: ~2–3 ms for the demo's 20,000 reference inputs) with a copy of
    /// the pipeline as it then is, every ~0.1 ms of that work, so the runner answers serving
    /// requests from it instead of making them wait. The copy is consistent: every event of the
    /// batch being processed is in the graph's windows, the model has learned through the event
    /// that closed the drift window; it has no drift stage (serving reads none). A setting, not
    /// state (nil in `weir replay`; checkpoints neither hold nor restore it); outputs are the
    /// same with or without it.
    public var servingPause: (@Sendable (Pipeline) -> Void)?
    /// Whether a retrain request from the gate asks the model for a challenger.
    private let retrainOnRequest: Bool
    public internal(set) var counters = PipelineCounters()
    /// The model's and drift monitors' bytes at the last ``markCheckpointed()``: increments write
    /// them as changes to these (shared by copies, as the graph's change tracking is).
    let stageBase = StageCheckpointBase()
    var input: ModelInput
    private var json = JSONWriter(capacity: 512)
    let keyField: Int?
    let keyType: FieldType?
    let labelField: Int?
    /// Score records carry the feature vector as scored (`model.emit_features`).
    private let emitFeatures: Bool
    /// Fields copied into score records (`model.carry`): name, schema index, type.
    private let carried: [(name: String, field: Int, type: FieldType)]
    /// Labels from their own topic (`model.label_topic`), instead of `labelField`.
    var labelTopic: LabelTopicJoin?
    let labelType: FieldType?
    private let windowNames: [String]
    /// Per window operator: its key is a `string` field (written as text; other keys as numbers).
    private let windowKeyIsString: [Bool]
    /// Per ``OutputKind`` (by raw value): the topology's sink is enabled (`sinks.<kind>: null`
    /// disables one; its records are then neither built nor written, only counted).
    private let outputEnabled: [Bool]
    /// The window state's memory budget (`state.memory_limit`); nil when the topology sets none.
    public private(set) var stateBudget: StateBudget?
    /// Budget level changes not yet taken by the runner (``takeStateBudgetChanges()``), oldest
    /// first; at most 16 kept.
    private var stateBudgetChanges: [StateBudget.Change] = []
    /// `gate.calibrate`: monitors whose chosen thresholds were already handed out by ``takeNewCalibrations()``.
    private var calibrationsTaken: [Bool] = []
    /// Task: the batch for the global stage, the scorer of the newest weights and their version,
    /// and per drift source the category names already sent.
    var globalOut: GlobalBatchWriter?
    var taskScorer: (@Sendable (UnsafeBufferPointer<Double>, inout ModelInput) -> Double)?
    var taskScratch: ModelInput
    public internal(set) var weightsVersion = 0
    var categoriesSent: [Int32] = []
    /// Task with a label topic: the message timestamps and offsets of the batch being processed
    /// (shared with the ``InputBatch`` while it is, not copied), and the index of the last row's message.
    var taskBatchTimestamps = ContiguousArray<Int64>()
    var taskBatchOffsets = ContiguousArray<Int64>()
    var taskTimestampCursor = 0
    /// Global stage: per task, per drift source, the global id of each of the task's category
    /// ids (-1: unknown); the newest watermark of each task; raw model inputs of the event.
    var categoryRemap: [Int32: [[Int32]]] = [:]
    /// Global stage: per task, per drift source, the name of each of the task's category ids
    /// (interned at first use, so global ids come in the order one instance would give them).
    var categoryNames: [Int32: [[String]]] = [:]
    var taskWatermarks: [Int32: Int64] = [:]
    /// Global stage: the tasks that said their partition ended (bounded run): they no longer
    /// hold its watermark back.
    var endedTasks: Set<Int32> = []
    /// Global stage: the watermark of the `by: global` windows: the largest ``currentWatermark``
    /// at a batch's end so far (monotone, as one instance's is).
    var globalWindowWatermark = Int64.min
    var globalInputs: [Double] = []
    /// The schema fields the `by: global` windows read (``WeirCore/GraphSpec/globalWindowInputFields``)
    /// and, in a task, a scratch row of their raw values.
    let globalWindowFields: [Int]
    var globalWindowValues: [Int64]
    /// The topology has `by: global` windows (run by the global stage, not by tasks).
    let hasGlobalWindows: Bool

    /// - Parameter partitions: how many source partitions the watermark spans.
    public init(compiled: CompiledTopology, partitions: Int = 1, now: Int64 = 0, role: Role = .whole) throws {
        self.role = role
        var c = compiled
        if case .eventTime(let f, var wm) = c.graph.time {
            wm.partitionCount = max(1, partitions)
            c.graph.time = .eventTime(field: f, watermark: wm)
        }
        // The schema fields the `by: global` windows read (sent per event by a task, read by the
        // global stage); a task does not run these windows (docs/scaling.md).
        globalWindowFields = c.graph.globalWindowInputFields
        globalWindowValues = Array(repeating: 0, count: globalWindowFields.count)
        hasGlobalWindows = c.graph.windows.contains { $0.keyField == nil }
        if case .task = role {
            try Self.checkGlobalWindows(c)
            c.graph.windows.removeAll { $0.keyField == nil }
        }
        self.compiled = c
        graph = try StreamGraph(c.graph, now: now)
        servedFeatureRefs = Self.resolveServedFeatures(c, graph)
        let schema = c.graph.schema
        keyField = c.spec.source.keyField.flatMap { schema.index(of: $0) }
        keyType = keyField.map { schema.fields[$0].type }
        if let m = c.spec.model, case .field(let label) = m.labels, let i = schema.index(of: label) {
            labelField = i
            labelType = schema.fields[i].type
        } else {
            labelField = nil
            labelType = nil
        }
        emitFeatures = c.spec.model?.emitFeatures ?? false
        carried = try (c.spec.model?.carry ?? []).map { name in
            guard let i = schema.index(of: name) else {
                throw ModelStage.SetupError.unsupported("model.carry '\(name)' is not a field of the schema")
            }
            return (name, i, schema.fields[i].type)
        }
        if let m = c.spec.model, case .topic(let topic, let idField, let labelField, _) = m.labels {
            labelTopic = try LabelTopicJoin(topic: topic, idField: idField, labelField: labelField, eventSchema: schema)
        }
        let dimension = graph.assembler?.names.count ?? 0
        model = try c.spec.model.map { try ModelStage(spec: $0, dimension: dimension, topologyName: c.spec.name) }
        input = ModelInput(layout: FeatureLayout(numericCount: dimension))
        windowNames = c.graph.windows.map(\.name)
        windowKeyIsString = c.graph.windows.map { w in
            w.keyField.flatMap { schema.index(of: $0) }.map { schema.fields[$0].type == .string } ?? false
        }
        retrainOnRequest = (c.spec.drift?.gate.retrain ?? false) && c.spec.model?.retraining != nil
        outputEnabled = OutputKind.allCases.map { c.spec.sinks.isEnabled($0) }
        let featureNames = graph.assembler?.names ?? []
        if let d = c.spec.drift {
            drift = try DriftStage(spec: d, topologyName: c.spec.name, schema: schema, featureNames: featureNames,
                                   topologyFile: c.spec.file, graph: &graph)
        } else {
            drift = nil
        }
        // A task's budget is its instance's, over all its tasks (kept by the runner: ``windowStateBytes``, ``admitNewKeys(_:)``).
        if case .task = role { stateBudget = nil } else { stateBudget = c.spec.state.memoryLimitBytes.map { StateBudget(limit: $0) } }
        taskScratch = ModelInput(layout: FeatureLayout(numericCount: dimension))
        globalInputs = Array(repeating: 0, count: dimension)
        if case .task(let p) = role {
            try Self.checkPartitionKeys(c)
            // Every record's message key must be its source.key value (docs/scaling.md).
            graph.keyCheckField = keyField!
            let monitored = drift?.sources.count ?? 0
            guard monitored <= GlobalBatchFormat.maxMonitored else {
                throw ModelStage.SetupError.unsupported("a partitioned topology monitors at most \(GlobalBatchFormat.maxMonitored) values; it has \(monitored)")
            }
            globalOut = GlobalBatchWriter(partition: p, dimension: model == nil ? 0 : dimension, monitoredCount: monitored,
                                          windowValueCount: globalWindowFields.count, messageTimestamps: labelTopic != nil)
            categoriesSent = Array(repeating: 0, count: monitored)
            taskScorer = model?.makeScorer()
            weightsVersion = model?.version ?? 0
        }
    }

    /// A partitioned topology's key rule, checked when a task is set up (docs/scaling.md): it
    /// needs `source.key` (a string, int, timestamp, category or bool field: the message keys are
    /// compared with its values) and keyed windows keyed by that field only (any other key's
    /// windows would be split over the partitions).
    static func checkPartitionKeys(_ c: CompiledTopology) throws {
        let schema = c.graph.schema
        guard let key = c.spec.source.keyField, let field = schema.index(of: key) else {
            throw ModelStage.SetupError.unsupported("a partitioned topology needs source.key, the field its messages are keyed by (every event of a key must reach one partition's task): add source.key: FIELD and produce with that field's value as the message key (e.g. weir produce --key-field FIELD), or run one instance without --partitioned")
        }
        if schema.fields[field].type == .double {
            throw ModelStage.SetupError.unsupported("source.key: \(key) is a double: --partitioned compares each message key with the key field's text, which a double does not have exactly; key by a string, int, timestamp, category or bool field, or run one instance without --partitioned")
        }
        let split = c.graph.windows.filter { $0.keyField != nil && $0.keyField != key }
        guard split.isEmpty else {
            var count = 0
            let named = split.map { w in
                let features = c.windowColumns.filter { $0.value.window == w.name }.map(\.key).sorted()
                count += max(1, features.count)
                return "\(features.isEmpty ? "window \(w.name)" : features.joined(separator: ", ")) (by: \(w.keyField!))"
            }
            let fields = Set(split.compactMap(\.keyField)).sorted().joined(separator: ", ")
            throw ModelStage.SetupError.unsupported("\(named.joined(separator: "; ")) \(count == 1 ? "is" : "are") keyed by \(fields), not by source.key: \(key): a partitioned run reads all events of one \(key) in one task, so windows keyed by \(fields) would be split over the partitions (repartitioning is not built); key \(count == 1 ? "it" : "them") by \(key), or run one instance without --partitioned")
        }
    }

    /// A partitioned topology's `by: global` windows, checked when a task is set up: no model
    /// input may read them (a task would score with a value that is not the topology's; the
    /// global stage computes them), and their aggregates must travel as one value per event.
    static func checkGlobalWindows(_ c: CompiledTopology) throws {
        let global = c.windowColumns.filter { wc in c.graph.windows.contains { $0.name == wc.value.window && $0.keyField == nil } }.map(\.key).sorted()
        let reading = c.graph.featuresReadingGlobalWindows
        if !reading.isEmpty {
            throw ModelStage.SetupError.unsupported("model input \(reading.joined(separator: ", ")) reads a by: global window (\(global.joined(separator: ", "))): in a partitioned run only the global stage sees every event, so a task could only score with a stale value; such a feature is refused as a model input with --partitioned (docs/scaling.md). Remove it from model.inputs, key the window by \(c.spec.source.keyField ?? "source.key"), or run one instance without --partitioned")
        }
        let named = c.graph.globalWindowAggregatesNeedingNames
        if !named.isEmpty {
            throw ModelStage.SetupError.unsupported("\(named.map { "\($0.aggregate) (over \($0.field))" }.joined(separator: ", ")) \(named.count == 1 ? "is a" : "are") by: global aggregate\(named.count == 1 ? "" : "s") over a string field or a category field without a declared categories list: a partitioned run sends the global stage one number per event and field, which for these fields is not the same on every task (string bytes; open categories are numbered per task); only count is supported over them. Declare the category's values (categories: [...]), or run one instance without --partitioned")
        }
        if c.graph.globalWindowInputFields.count > GlobalBatchFormat.maxMonitored {
            throw ModelStage.SetupError.unsupported("the by: global windows read \(c.graph.globalWindowInputFields.count) fields; a partitioned run sends at most \(GlobalBatchFormat.maxMonitored)")
        }
    }

    /// The event-time watermark the model and drift stages go by: the graph's, or in the global
    /// stage the smallest of the newest of the tasks that have not ended (``Int64/min`` before
    /// any task reported); once every task that reported has ended, the largest (Flink's rule
    /// for idle inputs, as ``WeirCore/WatermarkTracker`` applies it to one instance's partitions).
    var currentWatermark: Int64 {
        guard role == .global else { return graph.watermark }
        var live = Int64.max, anyLive = false, top = Int64.min
        for (task, mark) in taskWatermarks {
            top = max(top, mark)
            if !endedTasks.contains(task) { anyLive = true; live = min(live, mark) }
        }
        return anyLive ? live : top
    }

    /// `gate.calibrate`: one line per monitor whose thresholds are chosen (once its reference
    /// exists; a profile reference has them from the start), e.g. for the log.
    public var calibrationSummaries: [String] {
        drift?.pipeline.monitors.compactMap { m in m.calibrated.map { $0.summary(feature: m.config.feature) } } ?? []
    }

    /// `gate.calibrate`: the summary line of each monitor whose thresholds were chosen since the last
    /// call (at start for a profile reference, when the reference is complete for first events),
    /// for the log. O(monitors); empty without calibration.
    public mutating func takeNewCalibrations() -> [String] {
        guard compiled.spec.drift?.gate.calibrateFalseAlarmRate != nil, let d = drift else { return [] }
        let ms = d.pipeline.monitors
        if calibrationsTaken.count != ms.count { calibrationsTaken = Array(repeating: false, count: ms.count) }
        var out: [String] = []
        for (i, m) in ms.enumerated() where !calibrationsTaken[i] {
            guard let c = m.calibrated else { continue }
            calibrationsTaken[i] = true
            out.append(c.summary(feature: m.config.feature))
        }
        return out
    }

    /// Checks the window state against its budget (after each batch; O(windows)): refuses new
    /// keys at the limit and admits them again below 90% of it.
    private mutating func observeStateBudget() {
        guard stateBudget != nil, let change = stateBudget!.observe(bytes: graph.windowStateBytesInUse) else { return }
        graph.setAdmitsNewKeys(change.admitNewKeys)
        if stateBudgetChanges.count == 16 { stateBudgetChanges.removeFirst() }
        stateBudgetChanges.append(change)
    }

    /// The window state in use, in bytes, for a budget kept outside the pipeline (a partitioned
    /// instance's over its tasks). O(windows).
    public var windowStateBytes: Int { graph.windowStateBytesInUse }

    /// Lets the window operators add new keys, or refuses them (keys already held keep working),
    /// as a budget kept outside the pipeline decides.
    public mutating func admitNewKeys(_ admit: Bool) { graph.setAdmitsNewKeys(admit) }

    /// The budget level changes since the last call, oldest first (for logs and status).
    public mutating func takeStateBudgetChanges() -> [StateBudget.Change] {
        defer { stateBudgetChanges.removeAll() }
        return stateBudgetChanges
    }

    /// Processes one batch (e.g. one Kafka poll) read from `topic`, writing every output to `sink`.
    /// - Throws: ``PartitionKeyError`` when a task's batch holds message keys
    ///   (``InputBatch/append(_:key:partition:offset:)``) and a decoded record's key is not its
    ///   `source.key` value: nothing of the batch is written then, and the pipeline is not to be
    ///   used further (its decoder saw the batch).
    public mutating func process(_ batch: InputBatch, topic: String, now: Int64, into sink: inout some OutputSink) throws {
        try collectDriftJudgedInBackground(wait: false, into: &sink)
        if isTask && labelTopic != nil {
            // Each event's message timestamp goes to the global stage (labels are ordered by it).
            taskBatchTimestamps = batch.timestamps
            taskBatchOffsets = batch.offsets
            taskTimestampCursor = 0
        }
        // Released after the batch, so the runner's next append to its reused batch does not copy it.
        defer { if !taskBatchTimestamps.isEmpty { taskBatchTimestamps = []; taskBatchOffsets = [] } }
        graph.process(batch, now: now)
        // A partitioned task: a record whose message key is not its source.key value stops the
        // run before anything of its batch is written (docs/scaling.md).
        if let mismatch = graph.outputs.keyMismatch {
            throw PartitionKeyError(topic: topic, keyField: compiled.spec.source.keyField ?? "?", mismatch)
        }
        observeStateBudget()
        try emitDeadLetters(batch, topic: topic, into: &sink)
        try emitScores(topic: topic, now: now, into: &sink)
        // Outputs not caused by one event (windows fired by the batch) name its last record.
        if batch.count > 0 { sink.position(partition: batch.partitions[batch.count - 1], offset: batch.offsets[batch.count - 1]) }
        try emitWindowsAndLate(into: &sink)
        try emitDrift(now: now, into: &sink)
    }

    /// Writes the records of work still in flight: the contract drift window being judged in the
    /// background (``backgroundDriftEvaluation``), waiting for it. ``tick(now:into:)`` and
    /// ``finish(into:)`` do it first; call it before ``checkpointState()`` or committing offsets.
    public mutating func settle(into sink: inout some OutputSink) throws {
        try collectDriftJudgedInBackground(wait: true, into: &sink)
    }

    mutating func collectDriftJudgedInBackground(wait: Bool, into sink: inout some OutputSink) throws {
        guard drift?.contract?.hasPendingEvaluation == true else { return }
        drift!.completeContractEvaluation(wait: wait)
        if drift!.hasPendingRecords { try emitDrift(now: currentWatermark, into: &sink) }
    }

    /// `drift.mode: contract`: judge each closed drift window (sort, PSI, KS: ~0.8 ms) on another
    /// thread while the next events are processed. Its drift and alert records are the same, written
    /// by the first ``process(_:topic:now:into:)`` that finds the judgement done (or the next window
    /// close, ``tick(now:into:)``, ``finish(into:)`` or ``settle(into:)``, which wait for it) instead
    /// of at the closing event. Off by default; the runners turn it on.
    public var backgroundDriftEvaluation: Bool {
        get { drift?.contract?.evaluatesInBackground ?? false }
        set { drift?.contract?.evaluatesInBackground = newValue }
    }

    /// Processes one batch of label records read from the label topic (`model.label_topic`):
    /// each joins its scored event and the model learns from it (then decisions and version
    /// records follow). Undecodable records are dead letters; labels with no pending event are
    /// counted. Events waiting longer than `max_wait` (event time, against the watermark) expire.
    public mutating func processLabels(_ batch: InputBatch, topic: String, into sink: inout some OutputSink) throws {
        guard var join = labelTopic, model != nil else { return }
        defer { labelTopic = join }
        let now = currentWatermark
        expireLabels()
        join.batch.removeAll()
        try batch.bytes.withUnsafeBytes { all in
            for j in 0..<batch.count {
                let bytes = UnsafeRawBufferPointer(rebasing: all[batch.starts[j]..<batch.starts[j + 1]])
                do throws(DecodeError) {
                    let row = try join.decoder.decode(bytes, into: &join.batch, partition: batch.partitions[j], offset: batch.offsets[j])
                    let (id, label) = join.label(row)
                    if model!.applyLabel(eventID: id, label: label, now: now) {
                        counters.labelsJoined += 1
                        counters.labelled += 1
                    } else {
                        counters.labelsUnmatched += 1
                    }
                } catch {
                    counters.labelDeadLetters += 1
                    counters.deadLetters += 1
                    try sink.deadLetter(original: bytes, reason: error.description, field: error.fieldName,
                                        source: SourcePosition(topic: topic, partition: batch.partitions[j], offset: batch.offsets[j]))
                }
            }
        }
        try emitModelDecisions(into: &sink)
    }

    /// Drops events that waited longer than the label bound; counts every event dropped unlabelled
    /// (expired, or evicted when the joiner was full).
    mutating func expireLabels() {
        model!.expire(now: currentWatermark)
        let c = model!.labelCounts
        counters.labelsExpired = c.expired + c.evicted
    }

    /// Advances time without input (idle sources), so windows fire when traffic stops.
    public mutating func tick(now: Int64, into sink: inout some OutputSink) throws {
        try settle(into: &sink)
        graph.clearOutputs()
        graph.tick(now: now)
        try emitWindowsAndLate(into: &sink)
        try emitDrift(now: now, into: &sink)
    }

    /// Source partition `p` has ended (bounded run, every record of it processed): it stops
    /// holding the watermark back; the windows that fires are written to `sink`.
    public mutating func partitionEnded(_ p: Int32, now: Int64, into sink: inout some OutputSink) throws {
        try settle(into: &sink)
        graph.clearOutputs()
        graph.partitionEnded(p)
        try emitWindowsAndLate(into: &sink)
        try emitDrift(now: now, into: &sink)
    }

    /// End of input: fires every window still open (a bounded input's final watermark).
    public mutating func finish(into sink: inout some OutputSink) throws {
        try settle(into: &sink)
        graph.clearOutputs()
        graph.flush()
        try emitWindowsAndLate(into: &sink)
    }

    // MARK: outputs

    private mutating func emitDeadLetters(_ batch: InputBatch, topic: String, into sink: inout some OutputSink) throws {
        let dead = graph.outputs.deadLetters
        guard !dead.isEmpty else { return }
        counters.deadLetters += dead.count
        var j = 0
        try batch.bytes.withUnsafeBytes { all in
            for d in dead {
                while j < batch.count && !(batch.partitions[j] == d.partition && batch.offsets[j] == d.offset) { j += 1 }
                guard j < batch.count else { break }
                let original = UnsafeRawBufferPointer(rebasing: all[batch.starts[j]..<batch.starts[j + 1]])
                try sink.deadLetter(original: original, reason: d.error.description, field: d.error.fieldName,
                                    source: SourcePosition(topic: topic, partition: d.partition, offset: d.offset))
            }
        }
    }

    private mutating func emitScores(topic: String, now: Int64, into sink: inout some OutputSink) throws {
        let records = graph.outputs.records
        counters.records += records.count
        // The graph has decoded (and interned the categories of) the whole batch: name them before
        // any drift window of this batch closes.
        drift?.syncCategoryNames(graph.decoder)
        // Dead letters count in the drift window of the next valid event (stream order), so the
        // attribution does not depend on batch boundaries.
        let dead = graph.outputs.deadLetters
        var deadCursor = 0
        func deadLettersBefore(_ row: Int) -> Int {
            // In batch order: those of the same partition below the record's offset.
            var n = 0
            while deadCursor < dead.count && dead[deadCursor].partition == records.partition(row)
                && dead[deadCursor].offset < records.offset(row) {
                n += 1
                deadCursor += 1
            }
            return n
        }
        defer {
            if deadCursor < dead.count {
                if isTask { globalOut!.trailingDeadLetters += UInt32(dead.count - deadCursor) }
                else if drift != nil { drift!.pipeline.addDeadLetters(dead.count - deadCursor) }
            }
        }
        if isTask { sendCategoryNames() }
        guard model != nil else {
            if isTask {
                for row in 0..<records.count { appendForGlobal(records, row, inputs: nil, score: .nan, label: nil, deadBefore: deadLettersBefore(row)) }
            } else if drift != nil {
                for row in 0..<records.count {
                    sink.position(partition: records.partition(row), offset: records.offset(row))
                    drift!.pipeline.addDeadLetters(deadLettersBefore(row))
                    if drift!.feed(records, row: row, features: nil, score: nil) { try emitDrift(now: now, eventTime: records.eventTime(row), into: &sink) }
                }
            }
            return
        }
        let features = graph.outputs.features
        let scoresEnabled = outputEnabled[OutputKind.scores.rawValue]
        // Once per batch: calling the stored optional closure per event retained its context.
        let scorer = taskScorer
        for i in 0..<features.count {
            let row = features.recordRow(i)
            sink.position(partition: records.partition(row), offset: records.offset(row))
            features.withVector(i) { v in
                input.withUnsafeMutableNumeric { dst in _ = dst.initialize(from: v) }
            }
            var label: Double?
            if let lf = labelField, records.isPresent(row, lf) { label = records.numeric(row, lf, type: labelType!) }
            let time = records.eventTime(row)
            let p: Double
            let version: Int
            var pendingDecisions = false
            if isTask {
                p = features.withVector(i) { v in scorer!(v, &taskScratch) }
                version = weightsVersion
                let dead = deadLettersBefore(row)
                features.withVector(i) { v in appendForGlobal(records, row, inputs: v, score: p, label: label, deadBefore: dead) }
            } else if let join = labelTopic, let id = join.eventID(records, row) {
                let o = model!.score(eventID: id, input: &input, time: time)
                (p, version, pendingDecisions) = (o.score, o.version, o.pendingDecisions)
            } else {
                let o = model!.processVersioned(&input, label: label, time: time)
                (p, version, pendingDecisions) = (o.score, o.version, o.pendingDecisions)
            }
            // Whether a drift window closed at this event (read from the feed: see DriftStage.feedLoaded).
            var closed = false
            if drift != nil && !isTask {
                drift!.pipeline.addDeadLetters(deadLettersBefore(row))
                closed = features.withVector(i) { v in drift!.feed(records, row: row, features: v, score: p) }
            }
            counters.scored += 1
            if label != nil { counters.labelled += 1 }
            if scoresEnabled {
                json.reset()
                json.beginObject()
                json.key("key")
                writeKey(records, row)
                json.field("event_time", time)
                json.field("score", p)
                if let label { json.field("label", label) }
                if emitFeatures {
                    json.key("features")
                    json.beginArray()
                    input.withUnsafeMutableNumeric { xs in for x in xs { json.value(x) } }
                    json.endArray()
                }
                json.field("model_id", compiled.spec.name)
                json.field("model_version", version)
                json.field("topic", topic)
                json.field("partition", Int64(records.partition(row)))
                json.field("offset", records.offset(row))
                for c in carried where records.isPresent(row, c.field) {
                    json.key(c.name)
                    writeValue(records, row, c.field, c.type)
                }
                json.endObject()
                try writeKeyed(.scores, records, row, into: &sink)
            }
            // A new champion (also the first) or a retraining decision: its record follows the
            // event that caused it, whatever the batch boundaries (so the global stage of a
            // partitioned topology writes the same records).
            if !isTask && (version != counters.publishedModelVersion || pendingDecisions) { try emitModelDecisions(into: &sink) }
            // A drift window closed at this event: judge it now, so a retrain request takes effect
            // from the next event whatever the batch boundaries (replay and run agree).
            if closed { try emitDrift(now: now, eventTime: time, into: &sink) }
        }
        if labelTopic != nil { expireLabels() }
        try emitModelDecisions(into: &sink)
    }

    /// Retraining decisions, then the new champion's version record when it changed (also the
    /// first champion, on the first batch).
    mutating func emitModelDecisions(into sink: inout some OutputSink) throws {
        guard model != nil, !isTask else { return }
        for decision in model!.takeDecisionRecords() {
            counters.modelDecisions += 1
            try writeText(.models, key: decision.key, decision.json, into: &sink)
        }
        let version = model!.version
        if version != counters.publishedModelVersion {
            counters.publishedModelVersion = version
            counters.modelVersions += 1
            try writeText(.models, key: compiled.spec.name, model!.versionRecord(inputNames: graph.assembler?.names ?? []), into: &sink)
        }
    }

    /// Score monitor under one fixed model: the model as it is now (after the event that closed
    /// the window learned) scores the window's inputs and the reference inputs, pausing for
    /// ``servingPause`` between steps. Its own function, so the pipeline's copy the pause holds
    /// is released before anything else of the pipeline changes (nothing is copied on write).
    private mutating func scoreAwaitingDriftWindows() {
        guard let m = model else { return }
        var scratch = ModelInput(layout: input.layout)
        let score = m.makeScorer()
        let pause = pauseForServing()
        drift!.pipeline.scoreAwaitingWindows(by: ScoringState(modelVersion: m.version, labelsLearned: m.labelsLearned), pause: pause) {
            score($0, &scratch)
        }
    }

    /// [serving] ``servingPause`` bound to a copy of this pipeline as it is now without its drift
    /// stage (the judgement writes only to the drift stage, so it copies none of its storage), or
    /// nil when no pause is set.
    private func pauseForServing() -> (() -> Void)? {
        guard let hook = servingPause else { return nil }
        var view = self
        view.drift = nil
        view.servingPause = nil
        let frozen = view
        return { hook(frozen) }
    }

    /// - Parameter eventTime: the event that closed the window(s), when one did: a retrain request
    ///   is dated by it (event time, as the training buffer's events and promotions are; the same
    ///   in `weir run` and `weir replay` whatever the batch boundaries), otherwise by the watermark.
    mutating func emitDrift(now: Int64, eventTime: Int64? = nil, into sink: inout some OutputSink) throws {
        guard drift != nil, !isTask else { return }
        drift!.syncCategoryNames(graph.decoder)
        if compiled.spec.drift.map({ if case .tumbling = $0.window { return true } else { return false } }) ?? false {
            drift!.pipeline.advanceWatermark(to: currentWatermark)
        }
        if drift!.contract != nil {
            let (records, alerts) = drift!.drainContract()
            for r in records {
                if let at = drift!.closedAt[r.window] { sink.position(partition: at.partition, offset: at.offset) }
                counters.driftRecords += 1
                if r.drift { counters.driftedRecords += 1 }
                monitorObserver?.monitored(.contractDrift(r))  // [metrics]
                try writeText(.drift, key: r.feature, r.json(), into: &sink)
            }
            for a in alerts {
                if let at = drift!.closedAt[a.window] { sink.position(partition: at.partition, offset: at.offset) }
                counters.alerts += 1
                monitorObserver?.monitored(.contractAlert(a))  // [metrics]
                try writeText(.alerts, key: a.feature, a.json(), into: &sink)
            }
            for r in records { drift!.closedAt.removeValue(forKey: r.window) }
            return
        }
        if drift!.pipeline.needsScoring { scoreAwaitingDriftWindows() }
        let out = drift!.pipeline.drain()
        guard !out.drift.isEmpty || !out.alerts.isEmpty || !out.retrainRequests.isEmpty else { return }
        for r in out.drift {
            counters.driftRecords += 1
            if r.drifted { counters.driftedRecords += 1 }
            monitorObserver?.monitored(.drift(r))  // [metrics]
            try writeText(.drift, key: r.feature, r.json(), into: &sink)
        }
        for a in out.alerts {
            counters.alerts += 1
            monitorObserver?.monitored(.alert(a))  // [metrics]
            try writeText(.alerts, key: a.feature, a.json(), into: &sink)
        }
        for r in out.retrainRequests {
            counters.retrainRequests += 1
            try writeText(.retrain, key: nil, r.json(), into: &sink)
            if retrainOnRequest {
                let at = eventTime ?? currentWatermark
                model?.requestRetrain(id: r.requestID, reason: "data_drift", now: at)
            }
        }
        try emitModelDecisions(into: &sink)
    }

    private func writeText(_ kind: OutputKind, key: String?, _ text: String, into sink: inout some OutputSink) throws {
        var text = text
        try text.withUTF8 { try writeText(kind, key: key, UnsafeRawBufferPointer($0), into: &sink) }
    }

    private func writeText(_ kind: OutputKind, key: String?, _ bytes: [UInt8], into sink: inout some OutputSink) throws {
        try bytes.withUnsafeBytes { try writeText(kind, key: key, $0, into: &sink) }
    }

    private func writeText(_ kind: OutputKind, key: String?, _ value: UnsafeRawBufferPointer, into sink: inout some OutputSink) throws {
        guard outputEnabled[kind.rawValue] else { return }
        if var k = key {
            try k.withUTF8 { try sink.write(kind, key: UnsafeRawBufferPointer($0), value: value) }
        } else {
            try sink.write(kind, key: nil, value: value)
        }
    }

    private mutating func writeKey(_ records: RecordBatch, _ row: Int) {
        guard let kf = keyField, records.isPresent(row, kf) else { json.null(); return }
        switch keyType! {
        case .string: records.withStringBytes(row, kf) { json.value(utf8: $0) }
        case .category: json.value(graph.decoder.categoryName(field: kf, id: records.category(row, kf)) ?? "")
        default: json.value(records.numeric(row, kf, type: keyType!))
        }
    }

    /// A present field's value as JSON, from the decoded batch: strings (escaped) and category
    /// names as strings, `bool` as true/false, `int` and `timestamp` (epoch ms) as integers,
    /// `double` as a number.
    private mutating func writeValue(_ records: RecordBatch, _ row: Int, _ field: Int, _ type: FieldType) {
        switch type {
        case .string: records.withStringBytes(row, field) { json.value(utf8: $0) }
        case .category: json.value(graph.decoder.categoryName(field: field, id: records.category(row, field)) ?? "")
        case .bool: json.value(records.bool(row, field))
        case .int, .timestamp: json.value(records.int(row, field))
        case .double: json.value(records.double(row, field))
        }
    }

    private mutating func writeKeyed(_ kind: OutputKind, _ records: RecordBatch, _ row: Int, into sink: inout some OutputSink) throws {
        guard outputEnabled[kind.rawValue] else { return }
        let bytes = json.bytes
        if let kf = keyField, keyType == .string, records.isPresent(row, kf) {
            try records.withStringBytes(row, kf) { key in
                try bytes.withUnsafeBytes { try sink.write(kind, key: key, value: $0) }
            }
        } else {
            try bytes.withUnsafeBytes { try sink.write(kind, key: nil, value: $0) }
        }
    }

    mutating func emitWindowsAndLate(into sink: inout some OutputSink) throws {
        let results = graph.outputs.windowResults
        counters.windowResults += results.count
        for i in 0..<(outputEnabled[OutputKind.windows.rawValue] ? results.count : 0) {
            let w = Int(results.window[i])
            let columns = graph.windows[w].columnNames
            let keyBytes = Array(results.keyBytes(i))
            json.reset()
            json.beginObject()
            json.field("window", windowNames[w])
            json.key("key")
            if keyBytes.isEmpty {
                json.null()
            } else if windowKeyIsString[w] {
                keyBytes.withUnsafeBytes { json.value(utf8: $0) }
            } else {
                var slot: Int64 = 0
                for (k, b) in keyBytes.enumerated() where k < 8 { slot |= Int64(b) << (8 * Int64(k)) }
                json.value(slot)
            }
            json.field("start", results.start[i])
            json.field("end", results.end[i])
            json.field("kind", Self.kindName(results.kind[i]))
            json.key("values")
            json.beginObject()
            for (c, v) in zip(columns, results.values(i)) {
                json.key(c)
                json.value(v)
            }
            json.endObject()
            json.endObject()
            let bytes = json.bytes
            try keyBytes.withUnsafeBytes { key in
                try bytes.withUnsafeBytes { try sink.write(.windows, key: key.isEmpty ? nil : key, value: $0) }
            }
        }
        let late = graph.outputs.late
        counters.lateEvents += late.count
        for e in late where outputEnabled[OutputKind.late.rawValue] {
            json.reset()
            json.beginObject()
            json.field("window", windowNames[e.window])
            json.field("partition", Int64(e.partition))
            json.field("offset", e.offset)
            json.field("event_time", e.eventTime)
            json.field("watermark", e.watermark)
            json.endObject()
            try json.bytes.withUnsafeBytes { try sink.write(.late, key: nil, value: $0) }
        }
    }

    static func kindName(_ k: ResultKind) -> String {
        switch k {
        case .onTime: return "on_time"
        case .lateUpdate: return "late_update"
        case .countReached: return "count"
        case .perEvent: return "per_event"
        default: return "flushed"
        }
    }
}
