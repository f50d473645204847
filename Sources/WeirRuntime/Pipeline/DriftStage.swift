import WeirCore
import WeirDrift
import WeirTopology

/// The topology's drift monitors and retraining gate, fed from decoded records, features and
/// scores.
struct DriftStage: Sendable {
    enum Source: Sendable {
        case field(index: Int, type: FieldType)
        case category(index: Int)
        case feature(column: Int)
        case score
    }

    var pipeline: DriftPipeline
    /// `drift.mode: contract`: the workload contract's monitor instead of monitors and gate.
    var contract: ContractDriftMonitor?
    var contractValues: [Double]
    var contractReady = false
    /// Contract mode: the position of the event that closed each window whose records are not written yet.
    var closedAt: [Int: (partition: Int32, offset: Int64)] = [:]
    let sources: [Source]
    /// Category names already given to each categorical monitor.
    var namedCategories: [Int]
    /// Per source, the current event's field value (``loadValues(_:row:)``): a number, a category
    /// id, or NaN when absent (a decoded number is never NaN).
    var values: [Double]

    /// The reference profile loaded for `drift.reference: {profile: FILE}` (path resolved against
    /// the topology file's directory), nil otherwise.
    let profilePath: String?

    init(spec: DriftDeclaration, topologyName: String, schema: Schema, featureNames: [String],
         topologyFile: String = "", graph: inout StreamGraph) throws {
        let g = spec.gate
        let policy = DriftPolicy(
            psiThreshold: g.psi, ksPValueThreshold: g.ksPValue, ksStatisticFloor: g.ksMinStatistic ?? 0,
            wassersteinNormalizedThreshold: g.wassersteinNormalized, chi2PValueThreshold: g.chi2PValue,
            jsDistanceFloor: g.jsDistance ?? 0.1, minWindowSize: g.minWindowSize,
            psiResolveBelow: g.resolveBelowPSI ?? g.psi ?? 0.1, windowsToOpen: g.consecutive,
            windowsToResolve: g.resolveAfterWindows, alertCooldownWindows: g.cooldownWindows)
        let window: WeirDrift.WindowSpec
        switch spec.window {
        case .count(let n): window = .count(n)
        case .tumbling(let size, let offset): window = .eventTime(width: size, origin: offset)
        default: window = .count(10_000)
        }
        let reference: ReferenceSpec
        var profile: (ReferenceProfile, String)?
        switch spec.reference {
        case .firstEvents(let n): reference = .firstEvents(n)
        case .previousWindow: reference = .rolling
        case .profile(let path):
            let resolved = ProfileReference.resolve(path, topologyFile: topologyFile)
            if spec.mode == .contract {
                throw ProfileReferenceError.unsupported(path: resolved, detail: "drift.mode contract takes its reference from the first events only")
            }
            profile = (try ProfileReference.load(resolved), resolved)
            reference = .firstEvents(1)   // replaced per monitor below
        }
        profilePath = profile?.1
        let calibration = spec.gate.calibrateFalseAlarmRate.map {
            CalibrationConfig(falseAlarmRate: $0, monitorCount: spec.monitors.count)
        }
        var configs: [MonitorConfig] = []
        var sources: [Source] = []
        for m in spec.monitors {
            let kind: FieldKind = m.categorical ? .categorical : .numeric
            // The score is judged under one fixed model (the model at window close scores the
            // reference events' inputs and the window's), so learning alone never looks like drift.
            // A previous-window reference compares neighbouring windows and keeps the fed scores.
            var rescoring: RescoringConfig?
            if m.field == "score", !m.categorical, !featureNames.isEmpty, reference != .rolling {
                rescoring = RescoringConfig(dimension: featureNames.count, warmupLabels: spec.scoreWarmupLabels)
            }
            var monitorReference = reference
            var referenceInputs: InputSample?
            if let (p, path) = profile {
                let categoryField = m.categorical ? schema.index(of: m.field) : nil
                (monitorReference, referenceInputs) = try ProfileReference.reference(
                    for: m.field, kind: kind, bins: spec.bins, rescoring: rescoring, inputNames: featureNames,
                    categoryField: categoryField, graph: &graph, profile: p, path: path)
            }
            configs.append(MonitorConfig(feature: m.field, kind: kind, window: window, reference: monitorReference,
                                         sampleCap: spec.sampleCap, bins: spec.bins, policy: policy, rescoring: rescoring,
                                         maxCategories: spec.maxCategories, maxCategoryLength: spec.maxCategoryLength,
                                         referenceInputs: referenceInputs, calibration: calibration))
            if m.field == "score" {
                sources.append(.score)
            } else if let i = schema.index(of: m.field) {
                sources.append(m.categorical ? .category(index: i) : .field(index: i, type: schema.fields[i].type))
            } else if let c = featureNames.firstIndex(of: m.field) {
                sources.append(.feature(column: c))
            } else {
                throw ModelStage.SetupError.unsupported("drift monitor '\(m.field)' is a feature the model does not read; monitor a field, a model input or 'score'")
            }
        }
        if spec.mode == .contract, case .firstEvents(let n) = spec.reference, case .count(let w) = spec.window {
            contract = try ContractDriftMonitor(features: spec.monitors.map(\.field), referenceCount: n, windowSize: w)
        }
        contractValues = Array(repeating: .nan, count: sources.count)
        pipeline = try DriftPipeline(monitors: contract == nil ? configs : [], gate: GateConfig(name: topologyName, defaultPolicy: policy,
                                                                        retrainCooldownWindows: g.cooldownWindows))
        self.sources = sources
        // gate.calibrate with a profile reference: the thresholds are known now
        for i in pipeline.monitors.indices { _ = pipeline.calibrateMonitor(i) }
        namedCategories = Array(repeating: 0, count: sources.count)
        values = Array(repeating: .nan, count: sources.count)
    }

    /// Feeds every monitor one event: record row `row`, its feature vector (if any) and score.
    @discardableResult
    mutating func feed(_ records: RecordBatch, row: Int, features: UnsafeBufferPointer<Double>?, score: Double?) -> Bool {
        loadValues(records, row: row)
        return feedLoaded(eventTime: records.eventTime(row), features: features, score: score,
                          partition: records.partition(row), offset: records.offset(row))
    }

    /// Loads the monitored field values of record `row` into ``values`` (a category as its id;
    /// NaN when absent; features and the score are passed to ``feedLoaded`` instead).
    mutating func loadValues(_ records: RecordBatch, row: Int) {
        for (m, s) in sources.enumerated() {
            switch s {
            case let .field(i, type): values[m] = records.isPresent(row, i) ? records.numeric(row, i, type: type) : .nan
            case .category(let i): values[m] = records.isPresent(row, i) ? Double(records.category(row, i)) : .nan
            case .feature, .score: values[m] = .nan
            }
        }
    }

    /// Feeds every monitor the event whose field values are in ``values`` (from a record, or from
    /// a task's ``GlobalBatchReader`` in the global stage), with its feature vector (if any) and
    /// score; `partition`/`offset` name it in contract-mode records. Returns ``hasPendingRecords``
    /// after it (per event, the caller's one call: reading the stage through `Pipeline.drift!`
    /// copies it).
    @discardableResult
    mutating func feedLoaded(eventTime t: Int64, features: UnsafeBufferPointer<Double>?, score: Double?, partition: Int32, offset: Int64) -> Bool {
        if contract != nil {
            for (m, s) in sources.enumerated() {
                switch s {
                case .field: contractValues[m] = values[m]
                case .feature(let c): contractValues[m] = features?[c] ?? .nan
                case .score: contractValues[m] = score ?? .nan
                case .category: contractValues[m] = .nan
                }
            }
            // Only `add` per event: reading the monitor's state through `contract!` copies it.
            guard contractValues.withUnsafeBufferPointer({ contract!.add($0) }) else { return contractReady }
            // It completed the reference (no window closed yet) or closed window `closed - 1`.
            let closed = contract!.windowsClosed
            if !contract!.hasPendingEvaluation { contractReady = true }
            // The event that closed a window: its drift and alert records name it (weir.source.*
            // headers), also when they are written later (judged in the background).
            if closed > 0 { closedAt[closed - 1] = (partition, offset) }
            return contractReady
        }
        for (m, s) in sources.enumerated() {
            switch s {
            case .field:
                pipeline.feed(field: m, values[m].isNaN ? .missing : .number(values[m]), eventTime: t)
            case .category:
                pipeline.feed(field: m, values[m].isNaN ? .missing : .category(Int32(values[m])), eventTime: t)
            case .feature(let c):
                if let features { pipeline.feed(field: m, .number(features[c]), eventTime: t) }
            case .score:
                if let score {
                    if let features { pipeline.feed(field: m, score: score, inputs: features, eventTime: t) }
                    else { pipeline.feed(field: m, .number(score), eventTime: t) }
                }
            }
        }
        return hasPendingRecords
    }

    /// Global stage: loads event `i` of a task's batch into ``values`` (NaN where absent).
    /// Category ids are the task's: returns the mask of the monitors holding one, for the caller
    /// to map to the global stage's ids.
    mutating func loadValues(_ batch: GlobalBatchReader, _ i: Int) -> UInt64 {
        let present = batch.presence(i)
        var categories: UInt64 = 0
        for m in 0..<min(batch.monitoredCount, values.count) {
            guard present & (1 << UInt64(m)) != 0 else { values[m] = .nan; continue }
            if case .category = sources[m] { categories |= 1 << UInt64(m) } else { values[m] = batch.monitored(i, m) }
        }
        return categories
    }

    /// Contract mode with background evaluation: collects the window judged in the background, if
    /// any (waiting for it, or only if it is done), so its records are pending.
    mutating func completeContractEvaluation(wait: Bool) {
        if contract?.completePending(wait: wait) == true { contractReady = true }
    }

    /// True when a monitor closed a window whose record has not been drained yet.
    var hasPendingRecords: Bool { contractReady || pipeline.hasPendingRecords }

    /// Contract mode: the drift records and alerts completed since the last call.
    mutating func drainContract() -> (drift: [ContractDriftRecord], alerts: [ContractAlertRecord]) {
        contractReady = false
        guard contract != nil else { return ([], []) }
        return (contract!.drainDriftRecords(), contract!.drainAlerts())
    }

    /// Gives categorical monitors the names of ids interned since the last call.
    mutating func syncCategoryNames(_ decoder: RecordDecoder) {
        for (m, s) in sources.enumerated() {
            guard case .category(let i) = s else { continue }
            var names: [String] = []
            var id: Int32 = 0
            while let n = decoder.categoryName(field: i, id: id) { names.append(n); id += 1 }
            if names.count != namedCategories[m] {
                pipeline.setCategoryNames(field: m, names)
                namedCategories[m] = names.count
            }
        }
    }
}
