import WeirCore
import WeirDrift
import WeirStats

/// Why pipeline state could not be restored.
public enum CheckpointRestoreError: Error, Equatable, CustomStringConvertible {
    /// The bytes belong to another topology (name in the state, name of this pipeline).
    case otherTopology(found: String, expected: String)
    /// The state has a model, drift stage or contract monitor that this topology lacks (or the reverse).
    case shapeMismatch(String)
    /// Damaged or truncated bytes.
    case damaged(SerializationError)

    public var description: String {
        switch self {
        case let .otherTopology(found, expected): return "checkpoint is of topology '\(found)', this is '\(expected)'"
        case .shapeMismatch(let s): return "checkpoint does not fit this topology: \(s)"
        case .damaged(let e): return "checkpoint damaged: \(e)"
        }
    }
}

/// The model stage's and the drift monitors' bytes at the last checkpoint mark (nil before one):
/// what ``Pipeline/checkpointIncrement(unchangedSince:capacity:)`` writes their changes against.
/// Used from the processing thread only (the pipeline's owner), as the graph's change tracking.
final class StageCheckpointBase: @unchecked Sendable {
    var model: [UInt8]?
    var monitors: [[UInt8]]?
}

extension Pipeline {
    /// The pipeline's whole state (tag "WPCK" v1): the graph (watermarks, category interners,
    /// every window operator), the model stage (whole learner), the drift stage (monitors and gate,
    /// or the contract monitor) and the counters. Take it between batches (after ``process(_:topic:now:into:)``
    /// returned, and after ``settle(into:)``: every output is drained then). Restoring it into a pipeline built from the same
    /// topology and continuing with the same input gives exactly the outputs of an uninterrupted run.
    /// `capacity`: bytes to reserve (e.g. the previous image's size), so the buffer is not
    /// regrown and copied on the way (tens of MB at 1M keys).
    /// - Complexity: O(state size).
    public func checkpointState(capacity: Int = 0) -> [UInt8] {
        var w = ByteWriter(capacity: capacity)
        writeCheckpoint(into: &w, increment: false)
        return w.bytes
    }

    /// What changed since the last ``markCheckpointed()`` (tag "WPCI" v2): the graph's increment
    /// (``StreamGraph/snapshotIncrement()``: per keyed window operator the windows changed and
    /// the structural operations, watermarks and category interners whole), the model as the
    /// 64-byte blocks of its bytes that changed since the mark (``BlockDelta``; v1, still read,
    /// wrote it whole), the drift stage (each monitor as its changed blocks as well, leaving out
    /// the drift references that did not change since `unchangedSince`, the ``referenceMark``
    /// taken at the checkpoint this one builds on) and the counters.
    /// ``restoreState(_:)`` of the checkpoint at the last mark, then ``applyIncrement(_:)`` of
    /// each increment after it in order, gives exactly the ``checkpointState()`` bytes of the
    /// uninterrupted pipeline. Requires a mark (``tracksChanges``). Same timing rules as
    /// ``checkpointState()``.
    /// `capacity`: as for ``checkpointState(capacity:)``.
    /// - Complexity: O(windows changed + model + drift windows + references changed), plus a
    ///   scan of 4 bytes per window entry.
    public func checkpointIncrement(unchangedSince mark: ReferenceMark? = nil, capacity: Int = 0) -> [UInt8] {
        var w = ByteWriter(capacity: capacity)
        writeCheckpoint(into: &w, increment: true, unchangedSince: mark)
        return w.bytes
    }

    /// Which drift references a checkpoint holds: the monitors' reference revisions and whether
    /// the contract monitor's reference was complete (it never changes after). Take it when a
    /// checkpoint is written or restored; ``checkpointIncrement(unchangedSince:)`` then writes a
    /// reference only if it changed since.
    public struct ReferenceMark: Equatable, Sendable {
        public var monitors: [UInt64]
        public var contractReady: Bool
    }

    /// The drift references as they are now (see ``ReferenceMark``). O(monitors).
    public var referenceMark: ReferenceMark {
        ReferenceMark(monitors: drift?.pipeline.referenceRevisions ?? [], contractReady: drift?.contract?.referenceReady ?? false)
    }

    /// Appends ``checkpointState()`` (`increment` false) or ``checkpointIncrement(unchangedSince:)``
    /// bytes to `w`: header ("WPCK" v1 or "WPCI" v2), topology name, the graph's bytes (length
    /// prefixed), then the model, drift stage and counters.
    func writeCheckpoint(into w: inout ByteWriter, increment: Bool, unchangedSince mark: ReferenceMark? = nil) {
        precondition(drift?.contract?.hasPendingEvaluation != true, "Pipeline: settle(into:) before taking a checkpoint")
        precondition(!increment || graph.tracksChanges, "Pipeline: checkpointIncrement() before any markCheckpointed()")
        w.writeHeader(tag: increment ? "WPCI" : "WPCK", version: increment ? 2 : 1)
        w.write(compiled.spec.name)
        w.writeLengthPrefixed { increment ? graph.snapshotIncrement(into: &$0) : graph.snapshot(into: &$0) }
        writeNonGraph(into: &w, unchangedSince: increment ? mark : nil, increment: increment)
    }

    /// Starts the next checkpoint epoch (see ``StreamGraph/markCheckpointed()``): call once the
    /// checkpoint just taken (full or increment) or restored is the base of the next increment.
    /// Keeps the model's and the drift monitors' bytes as the base of the next increment's
    /// changes. Works on a copy of the pipeline (shared change tracking).
    /// - Complexity: O(window operators + model + drift monitors' state).
    public func markCheckpointed() {
        graph.markCheckpointed()
        stageBase.model = model?.serialized()
        stageBase.monitors = drift?.pipeline.monitorBases
    }

    /// True once ``markCheckpointed()`` was called (``checkpointIncrement()`` has a base).
    public var tracksChanges: Bool { graph.tracksChanges }

    /// See ``StreamGraph/changeMark``: changes when the pipeline is marked or restored.
    public var changeMark: StreamGraph.ChangeMark? { graph.changeMark }

    /// `increment`: the model and the drift monitors as their changes since the mark
    /// (``stageBase``; the model after a flag, ``BlockDelta/writeFlagged(_:base:into:)``), else whole.
    private func writeNonGraph(into w: inout ByteWriter, unchangedSince mark: ReferenceMark?, increment: Bool) {
        w.write(model != nil)
        if let model {
            if increment { BlockDelta.writeFlagged(model.serialized(), base: stageBase.model, into: &w) } else { w.writeBytes(model.serialized()) }
        }
        w.write(drift != nil)
        if let drift {
            w.writeBytes(drift.pipeline.snapshot(unchangedReferences: mark?.monitors, monitorBases: increment ? stageBase.monitors : nil))
            w.write(drift.contract != nil)
            if let c = drift.contract { w.writeBytes(c.serialized(includingReference: !(mark?.contractReady ?? false))) }
            w.write(drift.contractReady)
        }
        let c = counters
        for v in [c.records, c.deadLetters, c.scored, c.labelled, c.windowResults, c.lateEvents, c.modelDecisions,
                  c.modelVersions, c.publishedModelVersion, c.driftRecords, c.driftedRecords, c.alerts, c.retrainRequests,
                  c.labelsJoined, c.labelsUnmatched, c.labelsExpired, c.labelDeadLetters] {
            w.write(v)
        }
    }

    /// Restores state written by ``checkpointState()``. On error the pipeline is unchanged.
    /// - Throws: ``CheckpointRestoreError``.
    public mutating func restoreState(_ bytes: [UInt8]) throws(CheckpointRestoreError) {
        try restoring(bytes, tag: "WPCK", versions: 1...1) { p, r, _ in
            var g = p.graph
            try g.restore(try r.readBytes(field: "Pipeline.graph"))
            let (m, d, c) = try p.readNonGraph(&r, increment: false)
            p.graph = g
            (p.model, p.drift, p.counters) = (m, d, c)
        }
    }

    /// Applies an increment written by ``checkpointIncrement()`` onto the state it was taken
    /// after (restored with ``restoreState(_:)`` and the increments before it, in order). On
    /// error the pipeline is left partly updated: discard it.
    /// - Throws: ``CheckpointRestoreError``.
    /// - Complexity: O(increment size + structural operations × log timers).
    public mutating func applyIncrement(_ bytes: [UInt8]) throws(CheckpointRestoreError) {
        try restoring(bytes, tag: "WPCI", versions: 1...2) { p, r, version in
            let graphBytes = try r.readBytes(field: "Pipeline.graph")
            let (m, d, c) = try p.readNonGraph(&r, increment: true, modelDelta: version >= 2)
            try p.graph.applyIncrement(graphBytes)
            (p.model, p.drift, p.counters) = (m, d, c)
        }
    }

    /// Reads the header (`tag`, one of `versions`) and topology name of `bytes`, then runs `body`
    /// with the version; maps errors to ``CheckpointRestoreError``.
    private mutating func restoring(_ bytes: [UInt8], tag: StaticString, versions: ClosedRange<UInt16>,
                                    _ body: (inout Pipeline, inout ByteReader, UInt16) throws -> Void) throws(CheckpointRestoreError) {
        do {
            var r = ByteReader(bytes)
            let version = try r.readHeader(tag: tag, supportedVersions: versions)
            let name = try r.readString(field: "Pipeline.topology")
            guard name == compiled.spec.name else { throw CheckpointRestoreError.otherTopology(found: name, expected: compiled.spec.name) }
            try body(&self, &r, version)
        } catch let e as CheckpointRestoreError {
            throw e
        } catch let e as SerializationError {
            throw .damaged(e)
        } catch {
            throw .damaged(.invalidValue(field: "Pipeline", detail: "\(error)"))
        }
    }

    /// `increment`: the bytes are an increment on this pipeline's state, so drift references
    /// they leave out are taken from it; `modelDelta` (WPCI v2): the model is a flag, then its
    /// bytes whole or as changes to this pipeline's model (its bytes at the increment's base).
    private func readNonGraph(_ r: inout ByteReader, increment: Bool, modelDelta: Bool = false) throws -> (ModelStage?, DriftStage?, PipelineCounters) {
        var m = model
        if try r.readBool() != (model != nil) { throw CheckpointRestoreError.shapeMismatch("model") }
        if let current = model {
            m = try ModelStage(serialized: modelDelta ? try BlockDelta.readFlagged(&r, field: "Pipeline.model") { current.serialized() }
                                                      : try r.readBytes(field: "Pipeline.model"))
        }
        var d = drift
        if try r.readBool() != (drift != nil) { throw CheckpointRestoreError.shapeMismatch("drift") }
        if let current = drift {
            let bytes = try r.readBytes(field: "Pipeline.drift")
            d!.pipeline = try DriftPipeline(monitors: current.pipeline.monitors.map(\.config), gate: current.pipeline.gate.config,
                                            restoring: bytes, base: increment ? current.pipeline : nil)
            if try r.readBool() != (current.contract != nil) { throw CheckpointRestoreError.shapeMismatch("drift.mode contract") }
            if current.contract != nil {
                var cr = ByteReader(try r.readBytes(field: "Pipeline.contract"))
                let c = try ContractDriftMonitor(deserializing: &cr, base: increment ? current.contract : nil)
                guard cr.isAtEnd else { throw SerializationError.invalidValue(field: "Pipeline.contract", detail: "\(cr.remaining) trailing bytes") }
                guard c.features == current.contract!.features, c.referenceCount == current.contract!.referenceCount,
                      c.windowSize == current.contract!.windowSize else {
                    throw CheckpointRestoreError.shapeMismatch("contract monitor features or sizes")
                }
                d!.contract = c
                d!.contract!.evaluatesInBackground = current.contract!.evaluatesInBackground  // a setting, not state
            }
            d!.contractReady = try r.readBool()
            // Category names are in the monitors' state; the next sync re-sends all names (idempotent).
            d!.namedCategories = Array(repeating: 0, count: d!.namedCategories.count)
        }
        var c = PipelineCounters()
        c.records = try r.readInt(); c.deadLetters = try r.readInt(); c.scored = try r.readInt(); c.labelled = try r.readInt()
        c.windowResults = try r.readInt(); c.lateEvents = try r.readInt(); c.modelDecisions = try r.readInt()
        c.modelVersions = try r.readInt(); c.publishedModelVersion = try r.readInt()
        c.driftRecords = try r.readInt(); c.driftedRecords = try r.readInt(); c.alerts = try r.readInt(); c.retrainRequests = try r.readInt()
        c.labelsJoined = try r.readInt(); c.labelsUnmatched = try r.readInt(); c.labelsExpired = try r.readInt()
        c.labelDeadLetters = try r.readInt()
        guard r.isAtEnd else { throw SerializationError.invalidValue(field: "Pipeline", detail: "\(r.remaining) trailing bytes") }
        return (m, d, c)
    }

    /// After restoring a checkpoint taken `delta` ms of wall-clock time ago: see
    /// `StreamGraph.shiftWallClock(by:)` (idleness does not count the downtime).
    public mutating func shiftWallClock(by delta: Int64) {
        graph.shiftWallClock(by: delta)
    }
}
