import WeirStats

/// The retraining gate (named DriftGate to keep it apart from WeirModel.RetrainingGate, which consumes
/// its retrain requests): a pure, deterministic state machine from drift records to alert and
/// retrain-request records. Feed it each window's drift records (any number of fields) with
/// ``observe(_:)``; it evaluates each field's ``DriftPolicy`` (see there for drifted / clear /
/// insufficient) and per field:
/// - opens an alert when the run of consecutive drifted windows reaches `windowsToOpen` (k), no
///   alert is open, and the field is out of its alert cooldown (window > resolution window + cooldown);
///   once per run (a run that continues does not re-open);
/// - resolves an open alert after `windowsToResolve` (m) consecutive clear windows;
///   a "between" window breaks both runs; an insufficient window changes nothing.
/// After all records of the call, if any alert opened and the gate is out of its retrain cooldown,
/// it emits one retrain request naming every field with an open alert.
///
/// State snapshots to bytes (``snapshot()``, ``init(config:restoring:)``); restoring and continuing
/// gives the same records as never stopping. The config is not in the snapshot: restore with the same config.
/// - Complexity: O(records) per call; state O(fields).
public struct DriftGate: Sendable, Equatable {
    public let config: GateConfig

    struct OpenAlert: Sendable, Equatable {
        var id: String
        var openedWindow: Int
        var severity: String
        var windows: [Int]
    }

    struct FieldState: Sendable, Equatable {
        var driftRun = 0
        var clearRun = 0
        var runWindows: [Int] = []
        var clearWindows: [Int] = []
        var open: OpenAlert?
        /// The field may open a new alert only in windows > this.
        var cooldownUntil = Int.min
    }

    var fields: [String: FieldState] = [:]
    var alertSequence = 0
    var requestSequence = 0
    var lastRequestWindow: Int?

    public init(config: GateConfig = GateConfig()) { self.config = config }

    /// Features with an open alert, ascending.
    public var openAlerts: [String] { fields.filter { $0.value.open != nil }.keys.sorted() }

    /// Processes one window's drift records (fields in any order; they are handled by feature name).
    public mutating func observe(_ records: [DriftRecord]) -> GateOutput {
        var out = GateOutput()
        var opened: [Int] = []   // indices into out.alerts
        var trigger: DriftRecord?
        for rec in records.sorted(by: { $0.feature < $1.feature }) {
            // calibrated thresholds travel in the record (gate.calibrate)
            let policy = rec.calibration.map { $0.applied(to: config.policy(for: rec.feature)) } ?? config.policy(for: rec.feature)
            let verdict = policy.evaluate(rec.statistics, nCurrent: rec.nCurrent)
            var st = fields[rec.feature] ?? FieldState()
            switch verdict {
            case .insufficient:
                break
            case .drifted(let reasons):
                st.driftRun += 1
                st.clearRun = 0
                st.clearWindows.removeAll()
                st.runWindows.append(rec.window)
                if st.runWindows.count > policy.windowsToOpen { st.runWindows.removeFirst() }
                if st.open == nil && st.driftRun >= policy.windowsToOpen && rec.window > st.cooldownUntil {
                    let id = "\(config.name)-alert-\(alertSequence)"
                    alertSequence += 1
                    let sev = policy.severity(rec.statistics)
                    st.open = OpenAlert(id: id, openedWindow: rec.window, severity: sev, windows: st.runWindows)
                    opened.append(out.alerts.count)
                    if trigger == nil { trigger = rec }
                    out.alerts.append(AlertRecord(
                        alertID: id, status: .opened, feature: rec.feature, kind: rec.kind, severity: sev,
                        window: rec.window, windowStart: rec.windowStart, windowEnd: rec.windowEnd,
                        openedWindow: rec.window, consecutive: st.driftRun, windows: st.runWindows, reasons: reasons,
                        statistics: rec.statistics, nCurrent: rec.nCurrent, referenceID: rec.reference.id,
                        retrainRequested: false))
                }
            case .clear:
                st.clearRun += 1
                st.driftRun = 0
                st.runWindows.removeAll()
                st.clearWindows.append(rec.window)
                if st.clearWindows.count > policy.windowsToResolve { st.clearWindows.removeFirst() }
                if let open = st.open, st.clearRun >= policy.windowsToResolve {
                    out.alerts.append(AlertRecord(
                        alertID: open.id, status: .resolved, feature: rec.feature, kind: rec.kind,
                        severity: open.severity, window: rec.window, windowStart: rec.windowStart,
                        windowEnd: rec.windowEnd, openedWindow: open.openedWindow, consecutive: st.clearRun,
                        windows: st.clearWindows, reasons: [], statistics: rec.statistics, nCurrent: rec.nCurrent,
                        referenceID: rec.reference.id, retrainRequested: nil))
                    st.open = nil
                    st.cooldownUntil = rec.window + policy.alertCooldownWindows
                }
            case .between:
                st.driftRun = 0
                st.clearRun = 0
                st.runWindows.removeAll()
                st.clearWindows.removeAll()
            }
            fields[rec.feature] = st
        }
        guard let trig = trigger else { return out }
        let window = records.map(\.window).max() ?? trig.window
        if let last = lastRequestWindow, window - last <= config.retrainCooldownWindows { return out }
        lastRequestWindow = window
        for i in opened { out.alerts[i].retrainRequested = true }
        let openFields = openAlerts
        let ids = openFields.map { fields[$0]!.open!.id }
        let windows = Array(Set(openFields.flatMap { fields[$0]!.open!.windows })).sorted()
        let reasonParts = opened.map { "\(out.alerts[$0].feature) (\(out.alerts[$0].reasons.joined(separator: ", ")))" }
        let ref = trig.reference
        let desc = config.referenceDescription
            ?? "\(ref.kind.rawValue), n=\(ref.n)" + (ref.sketchRankError.map { ", sketch rank error \($0)" } ?? ", exact")
        out.retrainRequests.append(RetrainRequestRecord(
            requestID: "\(config.name)-retrain-\(requestSequence)", gate: config.name,
            reason: "drift: " + reasonParts.joined(separator: "; "), window: window,
            windowStart: trig.windowStart, windowEnd: trig.windowEnd, fields: openFields, alertIDs: ids,
            windows: windows, referenceID: ref.id, referenceDescription: desc))
        requestSequence += 1
        return out
    }
}

extension DriftGate {
    /// The gate's state as bytes (tag "WGAT", version 1).
    public func snapshot() -> [UInt8] {
        var w = ByteWriter()
        w.writeHeader(tag: "WGAT", version: 1)
        w.write(alertSequence)
        w.write(requestSequence)
        w.write(lastRequestWindow != nil); w.write(lastRequestWindow ?? 0)
        let names = fields.keys.sorted()
        w.write(UInt64(names.count))
        for name in names {
            let s = fields[name]!
            w.write(name)
            w.write(s.driftRun); w.write(s.clearRun); w.write(s.cooldownUntil)
            writeInts(s.runWindows, &w); writeInts(s.clearWindows, &w)
            w.write(s.open != nil)
            if let o = s.open {
                w.write(o.id); w.write(o.openedWindow); w.write(o.severity); writeInts(o.windows, &w)
            }
        }
        return w.bytes
    }

    /// Restores a gate from ``snapshot()`` bytes, with the configuration it ran with.
    /// - Throws: ``SerializationError`` on truncated, mistagged or inconsistent bytes.
    public init(config: GateConfig, restoring bytes: [UInt8]) throws(SerializationError) {
        self.init(config: config)
        var r = ByteReader(bytes)
        try r.readHeader(tag: "WGAT", supportedVersions: 1...1)
        alertSequence = try r.readInt()
        requestSequence = try r.readInt()
        let hasLast = try r.readBool(); let last = try r.readInt()
        lastRequestWindow = hasLast ? last : nil
        let n = try r.readCount(field: "DriftGate.fields", limit: 10_000_000)
        for _ in 0..<n {
            let name = try r.readString(field: "DriftGate.name")
            var s = FieldState()
            s.driftRun = try r.readInt(); s.clearRun = try r.readInt(); s.cooldownUntil = try r.readInt()
            s.runWindows = try readInts(&r); s.clearWindows = try readInts(&r)
            if try r.readBool() {
                let id = try r.readString(field: "DriftGate.alertID")
                let ow = try r.readInt()
                let sev = try r.readString(field: "DriftGate.severity")
                s.open = OpenAlert(id: id, openedWindow: ow, severity: sev, windows: try readInts(&r))
            }
            guard s.driftRun >= 0, s.clearRun >= 0 else {
                throw .invalidValue(field: "DriftGate.runs", detail: "\(name): \(s.driftRun), \(s.clearRun)")
            }
            fields[name] = s
        }
        guard alertSequence >= 0, requestSequence >= 0, r.isAtEnd else {
            throw .invalidValue(field: "DriftGate", detail: "bad sequences or \(r.remaining) trailing bytes")
        }
    }
}

private func writeInts(_ v: [Int], _ w: inout ByteWriter) {
    w.write(UInt64(v.count))
    for x in v { w.write(x) }
}

private func readInts(_ r: inout ByteReader) throws(SerializationError) -> [Int] {
    let n = try r.readCount(field: "DriftGate.windows", limit: 1_000_000)
    guard n * 8 <= r.remaining else { throw .truncated(offset: r.offset, needed: n * 8, available: r.remaining) }
    var out: [Int] = []
    out.reserveCapacity(n)
    for _ in 0..<n { out.append(try r.readInt()) }
    return out
}
