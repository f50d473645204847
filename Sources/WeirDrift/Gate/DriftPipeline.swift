import WeirStats

/// Several field monitors and one retraining gate, as a topology wires them: feed values by field
/// index, advance the watermark, then ``drain()`` the drift records, alerts and retrain requests.
///
/// ``drain()`` collects every monitor's closed windows, groups the records by window sequence
/// number (ascending) and hands each group to the gate, so fields whose windows close together
/// (count windows fed on every event, or event-time windows of one width) are judged together.
/// - Complexity: feeding is the monitor's (O(1), allocation-free); draining O(records).
public struct DriftPipeline: Sendable {
    /// The monitors, in configuration order (read-only outside the module; use the feed methods).
    public internal(set) var monitors: [FieldMonitor]
    public private(set) var gate: DriftGate

    /// - Throws: ``MonitorError`` for an invalid monitor configuration or duplicate feature names.
    public init(monitors configs: [MonitorConfig], gate: GateConfig = GateConfig()) throws(MonitorError) {
        var seen = Set<String>()
        var ms: [FieldMonitor] = []
        for c in configs {
            guard seen.insert(c.feature).inserted else { throw .invalidConfig(feature: c.feature, detail: "monitored twice") }
            ms.append(try FieldMonitor(c))
        }
        monitors = ms
        self.gate = DriftGate(config: gate)
    }

    /// Index of a monitored feature (look it up once, then feed by index).
    public func index(of feature: String) -> Int? { monitors.firstIndex { $0.config.feature == feature } }

    /// Feeds one observation to monitor `field` (an index from ``index(of:)``; out-of-range indices are ignored).
    public mutating func feed(field: Int, _ value: MonitoredValue, eventTime: Int64? = nil) {
        guard field >= 0 && field < monitors.count else { return }
        monitors[field].feed(value, eventTime: eventTime)
    }

    /// Feeds monitor `field` a model score with the model input it was computed from (see
    /// ``FieldMonitor/feed(score:inputs:eventTime:)``).
    public mutating func feed(field: Int, score: Double, inputs: UnsafeBufferPointer<Double>, eventTime: Int64? = nil) {
        guard field >= 0 && field < monitors.count else { return }
        monitors[field].feed(score: score, inputs: inputs, eventTime: eventTime)
    }

    /// Dead letters (e.g. undecodable events) counted in every field's next closed window.
    public mutating func addDeadLetters(_ n: Int) {
        for i in monitors.indices { monitors[i].addDeadLetters(n) }
    }

    /// Advances every monitor's watermark (closes event-time windows, builds time-range references).
    public mutating func advanceWatermark(to wm: Int64) {
        for i in monitors.indices { monitors[i].advanceWatermark(to: wm) }
    }

    /// Closes every open event-time window now (end of input).
    public mutating func closeOpenWindows() {
        for i in monitors.indices { monitors[i].closeOpenWindows() }
    }

    /// True when a score monitor under a fixed model has closed windows waiting for
    /// ``scoreAwaitingWindows(by:_:)`` (``drain()`` returns their records only after it).
    public var needsScoring: Bool { monitors.contains { $0.awaitingScoreCount > 0 } }

    /// Scores the windows of every score monitor under a fixed model (``MonitorConfig/rescoring``)
    /// that closed since the last call, and their reference inputs, with one model (`score`, in the
    /// state `state`). Call it before ``drain()``, right after the event that closed the window.
    /// `pause`: called between steps of the work (``FieldMonitor/scoreAwaitingWindows(by:pause:_:)``).
    public mutating func scoreAwaitingWindows(by state: ScoringState, pause: (() -> Void)? = nil,
                                              _ score: (UnsafeBufferPointer<Double>) -> Double) {
        for i in monitors.indices where monitors[i].awaitingScoreCount > 0 {
            monitors[i].scoreAwaitingWindows(by: state, pause: pause, score)
            pause?()
        }
    }

    /// What ``drain()`` returns.
    public struct Output: Sendable, Equatable {
        public var drift: [DriftRecord] = []
        public var alerts: [AlertRecord] = []
        public var retrainRequests: [RetrainRequestRecord] = []
        public init() {}
        /// Drift records, then alerts, then retrain requests, as JSON lines.
        public var jsonLines: [String] {
            drift.map { $0.json() } + alerts.map { $0.json() } + retrainRequests.map { $0.json() }
        }
    }

    /// True when a monitor closed a window whose record has not been drained yet (per event: reads
    /// each monitor's counts in place, no monitor is copied).
    public var hasPendingRecords: Bool {
        for i in monitors.indices where monitors[i].pendingRecordCount > 0 { return true }
        return false
    }

    /// Drains closed windows from all monitors and runs them through the gate.
    public mutating func drain() -> Output {
        var out = Output()
        var all: [DriftRecord] = []
        for i in monitors.indices where monitors[i].pendingRecordCount > monitors[i].awaitingScoreCount { all += monitors[i].drainRecords() }
        guard !all.isEmpty else { return out }
        all.sort { ($0.window, $0.feature) < ($1.window, $1.feature) }
        var start = 0
        while start < all.count {
            var end = start + 1
            while end < all.count && all[end].window == all[start].window { end += 1 }
            let group = Array(all[start..<end])
            let g = gate.observe(group)
            out.drift += group
            out.alerts += g.alerts
            out.retrainRequests += g.retrainRequests
            start = end
        }
        return out
    }

    /// The monitors' ``FieldMonitor/referenceRevision``s, in monitor order: pass them to a later
    /// ``snapshot(unchangedReferences:)`` to leave out the references that did not change since.
    public var referenceRevisions: [UInt64] { monitors.map(\.referenceRevision) }

    /// All state as bytes (tag "WDPL" v1): each monitor's snapshot and the gate's. Drain first
    /// (undrained records are not included). Restore with the same configurations.
    ///
    /// `unchangedReferences` (``referenceRevisions`` taken at the checkpoint these bytes are an
    /// increment on) leaves out each monitor's reference whose revision is still that one: a
    /// reference is written once per full image and again only when it changes (rolling,
    /// rescored). Restore such bytes with ``init(monitors:gate:restoring:base:)``.
    /// - Complexity: O(state written).
    ///
    /// `monitorBases` (``monitorBases`` taken at that checkpoint; "WDPL" v2): each monitor is
    /// written as the blocks of its bytes that changed since (``BlockDelta``): a window's samples
    /// grow at their end, so an increment carries the new ones, not the window.
    public func snapshot(unchangedReferences: [UInt64]? = nil, monitorBases: [[UInt8]]? = nil) -> [UInt8] {
        var w = ByteWriter()
        w.writeHeader(tag: "WDPL", version: monitorBases == nil ? 1 : 2)
        w.write(UInt64(monitors.count))
        for (i, m) in monitors.enumerated() {
            let unchanged = unchangedReferences.map { i < $0.count && $0[i] == m.referenceRevision } ?? false
            let bytes = m.snapshot(includingReference: !unchanged)
            if let bases = monitorBases {
                BlockDelta.writeFlagged(bytes, base: i < bases.count ? bases[i] : nil, into: &w)
            } else {
                w.writeBytes(bytes)
            }
        }
        w.writeBytes(gate.snapshot())
        return w.bytes
    }

    /// Each monitor's bytes without its reference part, as an increment's changes are written
    /// against (see ``snapshot(unchangedReferences:monitorBases:)``). O(monitor state).
    public var monitorBases: [[UInt8]] { monitors.map { $0.snapshot(includingReference: false) } }

    /// Restores from ``snapshot(unchangedReferences:)`` bytes; references left out are taken from
    /// `base`'s monitors (the state restored from the checkpoint the bytes are an increment on).
    /// - Throws: ``SerializationError`` for damaged bytes, configurations that do not match, or a
    ///   reference left out with no `base` to take it from.
    public init(monitors configs: [MonitorConfig], gate config: GateConfig, restoring bytes: [UInt8],
                base: DriftPipeline? = nil) throws(SerializationError) {
        var r = ByteReader(bytes)
        let version = try r.readHeader(tag: "WDPL", supportedVersions: 1...2)
        let n = try r.readCount(field: "DriftPipeline.monitors", limit: 1_000_000)
        guard n == configs.count else {
            throw .invalidValue(field: "DriftPipeline.monitors", detail: "\(n) in snapshot, \(configs.count) configured")
        }
        var ms: [FieldMonitor] = []
        for (i, c) in configs.enumerated() {
            let b = base.flatMap { i < $0.monitors.count ? $0.monitors[i] : nil }
            let monitorBytes = version >= 2
                ? try BlockDelta.readFlagged(&r, field: "DriftPipeline.monitor \(c.feature)") { b?.snapshot(includingReference: false) }
                : try r.readBytes(field: "DriftPipeline.monitor")
            ms.append(try FieldMonitor(c, restoring: monitorBytes, base: b))
        }
        monitors = ms
        gate = try DriftGate(config: config, restoring: try r.readBytes(field: "DriftPipeline.gate"))
        guard r.isAtEnd else { throw .invalidValue(field: "DriftPipeline", detail: "\(r.remaining) trailing bytes") }
    }
}
