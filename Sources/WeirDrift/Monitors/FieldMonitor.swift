import WeirStats

/// Drift and data-quality monitor of one field: builds or holds its reference, cuts current
/// windows (count or event time), and on each window close appends one ``DriftRecord`` (drain them
/// with ``drainRecords()``).
///
/// Feeding: ``feed(_:eventTime:)`` with a ``MonitoredValue`` (or the shorthands), or
/// ``feed(contentsOf:)`` for a run of numeric values (count windows). Each value first goes to the
/// reference while it is being built (`firstEvents` / `eventTimeRange`), then to the current window.
/// Event-time windows need an event time per value and close on ``advanceWatermark(to:)``; values
/// whose window already closed are counted in ``lateEvents`` and dropped.
/// Dead letters reported with ``addDeadLetters(_:)`` go to the next window that closes.
/// - Complexity: feeding O(1), allocation-free once the window buffers exist (reservoir storage is
///   reserved up front; category counts grow to the largest id). Closing a numeric window: radix sort
///   of the kept sample + O(n_ref + n_cur) (see ``NumericReference/compare(sortedCurrent:options:)``).
public struct FieldMonitor: Sendable {
    public let config: MonitorConfig
    /// The reference in use (nil while being built, and before the first window of a rolling reference).
    public internal(set) var reference: FieldReference? { didSet { referenceRevision = ReferenceRevision.next() } }
    public internal(set) var referenceInfo: ReferenceInfo? { didSet { referenceRevision = ReferenceRevision.next() } }
    /// The revision of the reference part (``reference``, ``referenceInfo`` and, with rescoring,
    /// the reference inputs): new whenever any of them changes (``ReferenceRevision``).
    public internal(set) var referenceRevision = ReferenceRevision.next()
    var builder: ReferenceBuilder?
    var referenceEvents = 0
    var referenceTimeMin = Int64.max
    var referenceTimeMax = Int64.min

    @usableFromInline var current: WindowAccumulator            // count windows
    @usableFromInline var eventsInWindow = 0
    // hot-path copies of the configuration, so feeding never switches over configuration enums
    /// 0: no reference being collected; 1: collecting the first N events; 2: collecting an event-time
    /// range; 3: time-range reference built (values inside the range are ignored).
    @usableFromInline var referenceMode: UInt8 = 0
    /// Count-window size, or 0 for event-time windows.
    @usableFromInline let countWindow: Int
    @usableFromInline let kind: FieldKind
    @usableFromInline let validRange: ClosedRange<Double>?
    var sequence: Int64 = 0                   // events after the reference (count windows)
    var open: [WindowAccumulator] = []        // event-time windows, ascending start
    var pool: [WindowAccumulator] = []
    /// Event-time windows ending at or before this are closed.
    public internal(set) var watermark = Int64.min
    /// Windows ending at or before this were force-closed (more than `maxOpenWindows` open).
    var forceClosedThrough = Int64.min
    var nextWindow = 0
    var pendingDeadLetters = 0
    var records: [DriftRecord] = []
    var scratch: [Double] = []
    var sorter = DoubleSorter()
    /// Score monitors under a fixed model (`config.rescoring`): the reference events' model inputs,
    /// windows closed and waiting for ``scoreAwaitingWindows(by:_:)``, and their reference scores.
    var referenceInputs: InputSample? { didSet { referenceRevision = ReferenceRevision.next() } }
    var awaiting: [AwaitingWindow] = []
    var referenceScores: [Double] = []
    /// Categorical fields, per category id: 0 not seen yet, 1 kept, 2 overflow
    /// (``MonitorConfig/maxCategories``); ids from ``CategoryCounts/denseLimit`` on in `sparseCategoryState`.
    @usableFromInline var categoryState: [UInt8] = []
    var sparseCategoryState: [Int32: UInt8] = [:]
    /// Thresholds chosen by `gate.calibrate` once the reference exists (not in snapshots: recomputed).
    public internal(set) var calibrated: CalibratedThresholds?
    /// Distinct categories kept so far.
    public internal(set) var keptCategories = 0

    /// The category id values beyond the category cap (or with a too-long name) are counted under.
    public static let overflowCategory = Int32.max
    /// Name of ``overflowCategory`` in records (`new_categories`, `histogram.categories`).
    public static let overflowCategoryName = "__overflow__"

    /// Values dropped because their event-time window had already closed.
    public internal(set) var lateEvents = 0
    /// Values ignored by an event-time-range reference (before its start, or after it was built).
    public internal(set) var ignoredEvents = 0
    /// Names of category ids, used for `new_categories` (index = id); unnamed ids are written in decimal.
    public var categoryNames: [String] = []

    /// - Throws: ``MonitorError/invalidConfig(feature:detail:)`` for a non-positive window, cap or
    ///   reference size, bins outside 2...10000, an empty time range, or a fixed reference of the wrong kind.
    public init(_ config: MonitorConfig) throws(MonitorError) {
        let f = config.feature
        func bad(_ d: String) -> MonitorError { .invalidConfig(feature: f, detail: d) }
        guard config.sampleCap >= 1 else { throw bad("sampleCap \(config.sampleCap) < 1") }
        guard (2...10_000).contains(config.bins) else { throw bad("bins \(config.bins) not in 2...10000") }
        guard config.maxOpenWindows >= 1 else { throw bad("maxOpenWindows < 1") }
        guard config.maxCategories >= 1, config.maxCategoryLength >= 1 else {
            throw bad("maxCategories \(config.maxCategories) or maxCategoryLength \(config.maxCategoryLength) < 1")
        }
        switch config.window {
        case .count(let n): guard n >= 1 else { throw bad("count window \(n) < 1") }
        case .eventTime(let w, _): guard w >= 1 else { throw bad("event-time window width \(w) < 1") }
        }
        self.config = config
        if case .count(let n) = config.window { countWindow = n } else { countWindow = 0 }
        kind = config.kind
        validRange = config.validRange
        do {
            current = try WindowAccumulator(start: 0, end: 0, cap: config.sampleCap, seed: config.seed)
            switch config.reference {
            case .firstEvents(let n):
                guard n >= 1 else { throw bad("firstEvents \(n) < 1") }
                builder = try ReferenceBuilder(kind: config.kind, cap: config.referenceCap, sketchK: config.referenceSketchK)
                referenceMode = 1
            case .eventTimeRange(let s, let e):
                guard s < e else { throw bad("empty reference time range [\(s), \(e))") }
                builder = try ReferenceBuilder(kind: config.kind, cap: config.referenceCap, sketchK: config.referenceSketchK)
                referenceMode = 2
            case .fixed(let ref, let info):
                guard ref.kind == config.kind else { throw bad("fixed reference is \(ref.kind.rawValue)") }
                reference = ref
                referenceInfo = info
                // The categories of a reference are kept first (ascending id, the order they were
                // first seen in), as when the monitor builds the reference itself.
                if case .categorical(let counts) = ref {
                    for id in counts.categories.sorted() where id != Self.overflowCategory { _ = admitSlow(id) }
                }
            case .rolling:
                break
            }
        } catch let e as MonitorError {
            throw e
        } catch {
            throw bad("\(error)")
        }
        if let rc = config.rescoring {
            guard config.kind == .numeric else { throw bad("rescoring needs a numeric field") }
            guard rc.referenceCap >= 1, rc.warmupLabels >= 0 else {
                throw bad("rescoring reference cap \(rc.referenceCap) < 1 or warm-up \(rc.warmupLabels) < 0")
            }
            switch config.reference {
            case .firstEvents, .eventTimeRange: break
            case .fixed:
                guard let given = config.referenceInputs else { throw bad("rescoring with a fixed reference needs the reference's model inputs") }
                guard given.dimension == rc.dimension else {
                    throw bad("reference model inputs have \(given.dimension) values, the model reads \(rc.dimension)")
                }
            default: throw bad("rescoring needs a reference of the first events, an event-time range or fixed model inputs")
            }
            do {
                if case .fixed = config.reference {
                    referenceInputs = config.referenceInputs
                } else {
                    referenceInputs = try InputSample(dimension: rc.dimension, capacity: rc.referenceCap, seed: config.seed ^ 0x1A7E)
                }
                current.inputs = try InputSample(dimension: rc.dimension, capacity: config.sampleCap, seed: config.seed ^ 0x1A7F)
            } catch {
                throw bad("\(error)")
            }
        }
        if case .count(let n) = config.window { current.end = Int64(n) }
    }

    /// True once a reference exists (windows can be compared).
    public var hasReference: Bool { reference != nil }
    /// Records produced and not yet drained, including windows awaiting their scores.
    public var pendingRecordCount: Int { records.count + awaiting.count }
    /// Closed windows of a score monitor under a fixed model waiting for ``scoreAwaitingWindows(by:_:)``.
    public var awaitingScoreCount: Int { awaiting.count }

    /// Returns and removes the records produced so far, oldest first.
    public mutating func drainRecords() -> [DriftRecord] {
        defer { records.removeAll(keepingCapacity: true) }
        return records
    }

    // MARK: feeding

    /// Feeds one observation. `eventTime` (ms) is needed for event-time windows and time-range references.
    @inlinable
    public mutating func feed(_ value: MonitoredValue, eventTime: Int64? = nil) {
        ingest(value, eventTime)
    }

    /// Feeds a numeric value (NaN/±Inf counted in quality, excluded from statistics).
    @inlinable
    public mutating func feed(_ x: Double, eventTime: Int64? = nil) { ingest(.number(x), eventTime) }

    /// Feeds an interned category id.
    @inlinable
    public mutating func feed(category id: Int32, eventTime: Int64? = nil) { ingest(.category(id), eventTime) }

    /// Counts an event where the field was missing or null.
    @inlinable
    public mutating func feedMissing(eventTime: Int64? = nil) { ingest(.missing, eventTime) }

    /// Counts an event where the field had the wrong type.
    @inlinable
    public mutating func feedInvalidType(eventTime: Int64? = nil) { ingest(.invalidType, eventTime) }

    /// Feeds a model score with the model input it was computed from, for a monitor with
    /// ``MonitorConfig/rescoring``: the input joins the reference inputs or the window's inputs
    /// (`inputs.count` must be the configured dimension, else only the score is used). Without
    /// rescoring it is ``feed(_:eventTime:)`` of the score.
    public mutating func feed(score: Double, inputs: UnsafeBufferPointer<Double>, eventTime: Int64? = nil) {
        if config.rescoring == nil { ingest(.number(score), eventTime) } else { ingestSlow(.number(score), eventTime, inputs: inputs) }
    }

    /// Adds dead-lettered events (e.g. the decoder's count) to the next window that closes.
    public mutating func addDeadLetters(_ n: Int) { if n > 0 { pendingDeadLetters += n } }

    /// Feeds a run of numeric values without event times (count windows; with event-time windows the
    /// values have no time and are counted in ``lateEvents``).
    public mutating func feed(contentsOf values: UnsafeBufferPointer<Double>) {
        guard case .count(let size) = config.window else {
            for x in values { ingest(.number(x), nil) }
            return
        }
        let range = config.validRange
        var i = 0
        let n = values.count
        while i < n {
            if referenceMode != 0 {
                ingest(.number(values[i]), nil)
                i += 1
                continue
            }
            let end = Swift.min(n, i + (size - eventsInWindow))
            if config.kind == .numeric {
                for j in i..<end where current.quality.record(values[j], range: range) { current.sample.add(values[j]) }
            } else {
                for _ in i..<end { current.quality.recordInvalidType() }
            }
            eventsInWindow += end - i
            i = end
            if eventsInWindow == size { closeCountWindow() }
        }
    }

    var isRolling: Bool { if case .rolling = config.reference { return true }; return false }

    /// Per-value path: the count-window case is inlined; the reference phase and event-time windows
    /// take ``ingestSlow(_:_:)``.
    @inlinable @inline(__always)
    mutating func ingest(_ v: MonitoredValue, _ t: Int64?) {
        var v = v
        if kind == .categorical, case .category(let id) = v { v = .category(admit(id)) }
        if referenceMode == 0 && countWindow > 0 {
            current.add(v, kind: kind, range: validRange)
            if let t { current.noteEventTime(t) }
            eventsInWindow &+= 1
            if eventsInWindow >= countWindow { closeCountWindow() }
        } else {
            ingestSlow(v, t)
        }
    }

    /// The id a category is counted under: itself while fewer than `maxCategories` distinct
    /// categories were kept (and its name is not too long), else ``overflowCategory``.
    @inlinable @inline(__always)
    mutating func admit(_ id: Int32) -> Int32 {
        let i = Int(id)
        if i >= 0 && i < categoryState.count {
            let s = categoryState[i]
            if s == 1 { return id }
            if s == 2 { return Self.overflowCategory }
        }
        return admitSlow(id)
    }

    @usableFromInline
    mutating func admitSlow(_ id: Int32) -> Int32 {
        guard id >= 0, id != Self.overflowCategory else { return Self.overflowCategory }
        let dense = id < CategoryCounts.denseLimit
        if let s = dense ? (Int(id) < categoryState.count ? categoryState[Int(id)] : 0) : sparseCategoryState[id], s != 0 {
            return s == 1 ? id : Self.overflowCategory
        }
        let tooLong = Int(id) < categoryNames.count && categoryNames[Int(id)].utf8.count > config.maxCategoryLength
        let state: UInt8 = tooLong || keptCategories >= config.maxCategories ? 2 : 1
        if state == 1 { keptCategories += 1 }
        if dense {
            if Int(id) >= categoryState.count { categoryState.append(contentsOf: repeatElement(0, count: Int(id) + 1 - categoryState.count)) }
            categoryState[Int(id)] = state
        } else {
            sparseCategoryState[id] = state
        }
        return state == 1 ? id : Self.overflowCategory
    }

    @usableFromInline
    mutating func ingestSlow(_ v: MonitoredValue, _ t: Int64?, inputs: UnsafeBufferPointer<Double>? = nil) {
        switch referenceMode {
        case 1:
            if case .firstEvents(let n) = config.reference {
                referenceEvents += 1
                addToReference(v, t)
                if let inputs { referenceInputs?.add(inputs) }
                if referenceEvents >= n { finishReference() }
            }
            return
        case 2, 3:
            if case .eventTimeRange(let s, let e) = config.reference {
                guard let t else { ignoredEvents += 1; return }
                if referenceMode == 2 {
                    if t < s { ignoredEvents += 1; return }
                    if t < e {
                        addToReference(v, t)
                        if let inputs { referenceInputs?.add(inputs) }
                        return
                    }
                } else if t < e {
                    ignoredEvents += 1
                    return
                }
            }
        default:
            break
        }
        if countWindow > 0 {
            current.add(v, kind: kind, range: validRange)
            if let t { current.noteEventTime(t) }
            if let inputs { current.inputs?.add(inputs) }
            eventsInWindow += 1
            if eventsInWindow >= countWindow { closeCountWindow() }
            return
        }
        guard case .eventTime(let width, let origin) = config.window else { return }
        guard let t else { lateEvents += 1; return }
        let (d, o) = t.subtractingReportingOverflow(origin)
        if o { lateEvents += 1; return }
        var start = (d / width) * width
        if d < 0 && d % width != 0 { start -= width }
        let (s, o1) = start.addingReportingOverflow(origin)
        let (e, o2) = s.addingReportingOverflow(width)
        if o1 || o2 || e <= watermark || e <= forceClosedThrough { lateEvents += 1; return }
        guard let i = openWindowIndex(start: s, end: e) else { lateEvents += 1; return }
        open[i].add(v, kind: kind, range: validRange)
        open[i].noteEventTime(t)
        if let inputs { open[i].inputs?.add(inputs) }
    }

    mutating func addToReference(_ v: MonitoredValue, _ t: Int64?) {
        if let t {
            if t < referenceTimeMin { referenceTimeMin = t }
            if t > referenceTimeMax { referenceTimeMax = t }
        }
        switch (v, config.kind) {
        case (.number(let x), .numeric) where x.isFinite: builder!.add(x)
        case (.category(let id), .categorical): builder!.add(category: id)
        default: break
        }
    }

    /// Builds the reference from the collected values (also called by the watermark for time ranges).
    mutating func finishReference() {
        guard let b = builder else { return }
        builder = nil
        referenceMode = referenceMode == 2 ? 3 : 0
        let ref = (try? b.build(bins: config.bins)) ?? .empty(config.kind)
        reference = ref
        defer { if config.calibration != nil { _ = calibrationIfReady() } }   // gate.calibrate: thresholds now
        let f = config.feature
        switch config.reference {
        case .firstEvents(let n):
            referenceInfo = ReferenceInfo(
                kind: .firstEvents, id: "\(f)/first_events/\(n)", n: ref.count,
                timeStart: referenceTimeMin <= referenceTimeMax ? referenceTimeMin : nil,
                timeEnd: referenceTimeMin <= referenceTimeMax ? referenceTimeMax &+ 1 : nil,
                cap: config.kind == .numeric ? b.cap : nil, sketchRankError: b.sketchRankError)
        case .eventTimeRange(let s, let e):
            referenceInfo = ReferenceInfo(kind: .eventTimeRange, id: "\(f)/event_time/\(s)-\(e)", n: ref.count,
                                          timeStart: s, timeEnd: e, cap: config.kind == .numeric ? b.cap : nil,
                                          sketchRankError: b.sketchRankError)
        default:
            break
        }
    }

    /// Index of the open event-time window `[start, end)`, opening it (from the pool) if needed.
    /// With `maxOpenWindows` open, the oldest is force-closed first (later values for it are late);
    /// nil when the new window would itself be the oldest (the value is then late).
    mutating func openWindowIndex(start: Int64, end: Int64) -> Int? {
        var i = open.count
        while i > 0 && open[i - 1].start > start { i -= 1 }
        if i > 0 && open[i - 1].start == start { return i - 1 }
        if open.count >= config.maxOpenWindows {
            if i == 0 { return nil }
            forceClosedThrough = Swift.max(forceClosedThrough, open[0].end)
            closeEventTimeWindow(at: 0)
            i -= 1
        }
        var w: WindowAccumulator
        if var p = pool.popLast() {
            p.reset(start: start, end: end)
            w = p
        } else {
            w = current   // same cap and seed stream shape; storage is copied on write once
            w.reset(start: start, end: end)
        }
        open.insert(w, at: i)
        return i
    }

    /// Advances the watermark (ms): builds a time-range reference once `watermark >= end`, and closes
    /// every event-time window with `end <= watermark`, oldest first. A smaller watermark is ignored.
    public mutating func advanceWatermark(to wm: Int64) {
        guard wm > watermark else { return }
        watermark = wm
        if builder != nil, case .eventTimeRange(_, let e) = config.reference, wm >= e { finishReference() }
        while let first = open.first, first.end <= wm { closeEventTimeWindow(at: 0) }
    }

    /// Closes every open event-time window now (e.g. at end of input), oldest first. Count windows
    /// are not closed: a final partial count window is never evaluated.
    public mutating func closeOpenWindows() {
        while !open.isEmpty { closeEventTimeWindow(at: 0) }
    }

    mutating func closeEventTimeWindow(at i: Int) {
        var w = open.remove(at: i)
        if config.rescoring != nil {
            awaiting.append(AwaitingWindow(window: w, windowType: .eventTime, deadLetters: pendingDeadLetters))
            pendingDeadLetters = 0
            return
        }
        records.append(makeRecord(&w, windowType: .eventTime))
        pool.append(w)
    }

    @usableFromInline
    mutating func closeCountWindow() {
        let size = Int64(eventsInWindow)
        current.start = sequence
        current.end = sequence + size
        sequence += size
        var w = current
        current = WindowAccumulator.placeholder
        if config.rescoring != nil {
            awaiting.append(AwaitingWindow(window: w, windowType: .count, deadLetters: pendingDeadLetters))
            pendingDeadLetters = 0
        } else {
            records.append(makeRecord(&w, windowType: .count))
        }
        w.reset(start: sequence, end: sequence)
        current = w
        eventsInWindow = 0
    }
}

extension FieldMonitor {
    /// The field's reference as a profile entry (for ``ReferenceProfile`` files), once built: the
    /// reference, its info, the category names (categorical) and the reference model inputs (a
    /// score monitor under a fixed model).
    public func profileField() -> ReferenceProfile.Field? {
        guard let r = reference, let info = referenceInfo else { return nil }
        return ReferenceProfile.Field(feature: config.feature, reference: r, info: info,
                                      categoryNames: config.kind == .categorical ? categoryNames : [],
                                      inputs: referenceInputs)
    }

    /// Builds a reference still being collected from the values collected so far (``firstEvents``
    /// or an event-time range), e.g. at the end of a training file (`weir profile`). No-op when
    /// the reference is built or not collected.
    public mutating func finishReferenceNow() {
        if builder != nil { finishReference() }
    }
}

/// A closed window of a score monitor under a fixed model, with what it had at its close.
struct AwaitingWindow: Sendable {
    var window: WindowAccumulator
    var windowType: WindowType
    var deadLetters: Int
}

extension FieldMonitor {
    /// Judges every closed window waiting for its scores (``MonitorConfig/rescoring``): scores the
    /// reference inputs and the window's inputs with `score` (one model, described by `state`),
    /// then compares the two score samples as any numeric field. Before the model has learned from
    /// `warmupLabels` labels the record is undefined (`model_warm_up`). No-op without rescoring.
    ///
    /// `pause`, when given, is called between the steps of this work (every
    /// ``InputSample/scoresPerPause`` scores, after each sort), so that a caller whose thread
    /// has other duties (answering serving requests) is not blocked for the whole judgement
    /// (~2–3 ms for the demo's 20,000 reference inputs); what it does there must not touch this
    /// monitor. The records are the same with or without it.
    /// - Complexity: O((n_ref + n_window) · cost of `score`) plus two sorts and the comparison.
    public mutating func scoreAwaitingWindows(by state: ScoringState, pause: (() -> Void)? = nil,
                                              _ score: (UnsafeBufferPointer<Double>) -> Double) {
        guard let rc = config.rescoring, !awaiting.isEmpty else { return }
        let list = awaiting
        awaiting.removeAll()
        for var a in list {
            var reference: FieldReference?
            let warmUp = state.labelsLearned < rc.warmupLabels
            if !warmUp {
                if let ri = referenceInputs, builder == nil {
                    ri.scores(into: &referenceScores, pause: pause, score)
                    pause?()
                    sorter.sort(&referenceScores)
                    pause?()
                    reference = referenceScores.isEmpty ? .empty(.numeric)
                        : ((try? NumericReference(sortedSample: referenceScores, bins: config.bins)).map { .numeric($0) } ?? .empty(.numeric))
                    pause?()
                }
                a.window.inputs?.scores(into: &scratch, pause: pause, score)
                pause?()
                sorter.sort(&scratch)
                pause?()
            }
            records.append(makeRecord(&a.window, windowType: a.windowType, deadLetters: a.deadLetters,
                                      rescored: RescoredWindow(state: state, reference: reference, warmUp: warmUp)))
            if a.windowType == .eventTime { pool.append(a.window) }
        }
    }
}
