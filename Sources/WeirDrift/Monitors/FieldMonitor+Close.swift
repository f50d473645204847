import WeirStats

/// A window of a score monitor under a fixed model, scored: the model state, the reference of the
/// reference inputs' scores (nil: no reference yet), and whether the model is still warming up.
/// The window's sorted scores are in the monitor's `scratch`.
struct RescoredWindow {
    var state: ScoringState
    var reference: FieldReference?
    var warmUp: Bool
}

extension FieldMonitor {
    /// Computes the record of a closing window against the current reference; for a rolling
    /// reference, the window then becomes the reference of the next one. `rescored`: the window's
    /// scores (in `scratch`, sorted) and reference under one model, instead of the fed values.
    mutating func makeRecord(_ w: inout WindowAccumulator, windowType: WindowType, deadLetters: Int? = nil,
                             rescored: RescoredWindow? = nil) -> DriftRecord {
        let index = nextWindow
        nextWindow += 1
        var stats: WindowStatistics
        var nCurrent = 0
        var newCategories = 0
        var quality = w.quality
        var cap: Int? = nil
        var seen = 0
        var rollingNext: FieldReference?
        var histogram: DriftHistogram?
        switch config.kind {
        case .numeric:
            cap = config.sampleCap
            let ref: FieldReference?
            if let r = rescored {
                seen = w.inputs?.seen ?? 0
                nCurrent = r.warmUp ? (w.inputs?.kept ?? 0) : scratch.count
                ref = r.reference
            } else {
                seen = w.sample.seen
                nCurrent = w.sample.kept
                if nCurrent > 0 {
                    w.sample.sortedValues(into: &scratch, using: &sorter)
                    if isRolling { rollingNext = (try? NumericReference(sortedSample: scratch, bins: config.bins)).map { .numeric($0) } }
                }
                ref = reference
            }
            if rescored?.warmUp == true {
                stats = .undefined(.modelWarmUp)
            } else {
            switch ref {
            case nil: stats = .undefined(.noReference)
            case .empty?: stats = .undefined(.emptyReference)
            case .categorical?: stats = .undefined(.emptyReference)  // unreachable: kinds are checked
            case .numeric(let ref)?:
                if nCurrent == 0 {
                    stats = .undefined(.emptyCurrent)
                } else if let c = try? ref.compare(sortedCurrent: scratch, options: config.options) {
                    stats = .numeric(NumericStatistics(c))
                    histogram = DriftHistogram(reference: ref, sortedCurrent: scratch)
                } else {
                    stats = .undefined(.emptyCurrent)
                }
            }
            }
        case .categorical:
            nCurrent = w.categories.total
            seen = nCurrent
            if isRolling && nCurrent > 0 { rollingNext = .categorical(w.categories) }
            switch reference {
            case nil: stats = .undefined(.noReference)
            case .empty?, .numeric?: stats = .undefined(.emptyReference)
            case .categorical(let ref)?:
                if nCurrent == 0 {
                    stats = .undefined(.emptyCurrent)
                } else if let c = try? CategoricalDrift.compare(reference: ref, current: w.categories,
                                                                psiFloor: config.options.psiFloor,
                                                                jsBase: config.options.jsBase) {
                    let names = categoryNames
                    let name = { (id: Int32) in
                        id == Self.overflowCategory ? Self.overflowCategoryName : id >= 0 && Int(id) < names.count ? names[Int(id)] : String(id)
                    }
                    stats = .categorical(CategoricalStatistics(c, name: name))
                    newCategories = c.newCategories.count
                    histogram = DriftHistogram(reference: ref, current: w.categories, name: name)
                    quality.newCategory = c.newCategoryValueCount
                } else {
                    stats = .undefined(.emptyCurrent)
                }
            }
        }
        var policy = config.policy
        var calibration: CalibratedThresholds?
        if rescored == nil, let c = calibrationIfReady() {
            calibration = c
            policy = c.applied(to: policy)
        }
        let verdict = policy.evaluate(stats, nCurrent: nCurrent)
        var info = referenceInfo ?? ReferenceInfo(kind: isRolling ? .rolling : .firstEvents,
                                                  id: "\(config.feature)/none", n: 0)
        let nReference = rescored.map { $0.reference?.count ?? 0 } ?? reference?.count ?? 0
        if rescored != nil, let ri = referenceInputs {
            // The reference is the reference events' inputs, scored by the window's model.
            info.n = ri.kept
            info.cap = ri.capacity
        }
        let rec = DriftRecord(
            feature: config.feature, kind: config.kind, window: index, windowType: windowType,
            windowStart: w.start, windowEnd: w.end, reference: info, nReference: nReference,
            nCurrent: nCurrent, statistics: stats, drifted: verdict.isDrifted, driftReasons: verdict.reasons,
            quality: QualityFigures(quality, newCategories: newCategories, deadLetters: deadLetters ?? pendingDeadLetters,
                                    categoryOverflow: w.categoryOverflow),
            sampling: SamplingInfo(cap: cap, seen: seen, kept: nCurrent), scoredBy: rescored?.state,
            firstEventTime: w.eventTimeSpan?.first, lastEventTime: w.eventTimeSpan?.last, histogram: histogram,
            calibration: calibration)
        if deadLetters == nil { pendingDeadLetters = 0 }
        if isRolling {
            reference = rollingNext ?? .empty(config.kind)
            referenceInfo = ReferenceInfo(kind: .rolling, id: "\(config.feature)/rolling/\(index)",
                                          n: rollingNext?.count ?? 0, timeStart: windowType == .eventTime ? w.start : nil,
                                          timeEnd: windowType == .eventTime ? w.end : nil,
                                          cap: config.kind == .numeric ? config.sampleCap : nil)
        }
        return rec
    }
}


extension FieldMonitor {
    /// The calibrated thresholds (``MonitorConfig/calibration``), computed once the reference exists
    /// (deterministic: seeded by the configuration and the feature name, so a restored monitor
    /// computes the same). nil without calibration, for rolling references, event-time windows and
    /// score monitors under a fixed model (their reference changes with the model).
    mutating func calibrationIfReady() -> CalibratedThresholds? {
        if let c = calibrated { return c }
        guard let cc = config.calibration, config.rescoring == nil, !isRolling, countWindow > 0, let ref = reference else { return nil }
        var stream: UInt64 = 0xCBF2_9CE4_8422_2325              // FNV-1a of the feature name
        for b in config.feature.utf8 { stream = (stream ^ UInt64(b)) &* 0x100_0000_01B3 }
        let size = config.kind == .numeric ? Swift.min(countWindow, config.sampleCap) : countWindow
        calibrated = GateCalibration.thresholds(reference: ref, windowSize: size, bins: config.bins, config: cc, stream: stream)
        return calibrated
    }

    /// Computes the calibrated thresholds now if the reference exists (e.g. to report them at start).
    public mutating func calibrate() -> CalibratedThresholds? { calibrationIfReady() }
}
