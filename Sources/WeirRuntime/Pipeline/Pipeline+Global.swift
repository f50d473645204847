import WeirCore
import WeirModel
import WeirStats

/// A topology split in two stages (`docs/scaling.md`): tasks (``Role/task(partition:)``) that
/// hand what the global stage needs to ``takeGlobalBatch(into:)``, and the global stage
/// (``Role/global``) that reads those batches with ``processGlobal(_:now:into:)``. Both use the
/// pipeline's own model, drift and output code, so the global stage's drift, alert, retrain and
/// model records are those of a ``Role/whole`` pipeline that saw the events in the same order.
extension Pipeline {
    var isTask: Bool { if case .task = role { return true } else { return false } }

    // MARK: task

    /// Scores from now on with `weights` (the global stage's champion as it broadcast it).
    public mutating func useWeights(_ weights: ModelWeights) {
        guard isTask, model != nil else { return }
        taskScorer = weights.makeScorer()
        weightsVersion = weights.version
    }

    /// Task: writes the batch of events scored since the last call (and the category names they
    /// introduced) into `out` and starts a new one; false (and `out` untouched) when there is
    /// nothing to send. With `flags` (e.g. ``GlobalBatchFormat/Flags/caughtUp``) a batch is
    /// written even with no event: a marker. `readThrough`: the next source offset the task reads
    /// (written by version 5 batches, a topology with a label topic).
    public mutating func takeGlobalBatch(into out: inout [UInt8], flags: GlobalBatchFormat.Flags = [], readThrough: Int64? = nil) -> Bool {
        guard globalOut != nil, !flags.isEmpty || globalOut!.count > 0 || globalOut!.trailingDeadLetters > 0 else { return false }
        globalOut!.flags = flags
        globalOut!.readThrough = readThrough ?? -1
        globalOut!.encode(watermark: graph.watermark, into: &out)
        globalOut!.reset()
        return true
    }

    /// Task: the names of categories of monitored fields interned since the last batch.
    mutating func sendCategoryNames() {
        guard let d = drift else { return }
        for (m, s) in d.sources.enumerated() {
            guard case .category(let field) = s else { continue }
            while let name = graph.decoder.categoryName(field: field, id: categoriesSent[m]) {
                var n = name
                n.withUTF8 { globalOut!.addCategory(field: UInt16(field), id: UInt32(categoriesSent[m]), name: UnsafeRawBufferPointer($0)) }
                categoriesSent[m] += 1
            }
        }
    }

    /// Task: one scored event for the global stage: its raw model inputs, score, inline label,
    /// monitored field values, label-join id and the dead letters read just before it.
    mutating func appendForGlobal(_ records: RecordBatch, _ row: Int, inputs: UnsafeBufferPointer<Double>?, score: Double,
                                  label: Double?, deadBefore: Int) {
        var present: UInt64 = 0
        if drift != nil {
            drift!.loadValues(records, row: row)
            for m in 0..<drift!.values.count where !drift!.values[m].isNaN { present |= 1 << UInt64(m) }
        }
        // The label-join id as its 8 bytes (none without a label topic or id).
        let id = labelTopic?.eventID(records, row)
        let values = drift?.values ?? []
        // The raw slots of the fields the by: global windows read (the global stage runs them).
        var windowPresent: UInt64 = 0
        for (j, f) in globalWindowFields.enumerated() where records.isPresent(row, f) {
            globalWindowValues[j] = records.raw(row, f)
            windowPresent |= 1 << UInt64(j)
        }
        let messageTime = taskMessageTimestamp(of: records.offset(row))
        withUnsafeBytes(of: (id ?? 0).littleEndian) { idBytes in
            values.withUnsafeBufferPointer { v in
                globalWindowValues.withUnsafeBufferPointer { g in
                    globalOut!.append(eventTime: records.eventTime(row), offset: records.offset(row), messageTimestamp: messageTime,
                                      score: score, label: label,
                                      inputs: inputs ?? UnsafeBufferPointer(start: nil, count: 0), monitored: v, present: present,
                                      deadLettersBefore: UInt32(deadBefore), id: id == nil ? nil : idBytes,
                                      windowValues: g, windowPresent: windowPresent)
                }
            }
        }
    }

    /// Task with a label topic: the message timestamp of the batch's record at `offset`
    /// (`Int64.min` when unknown). Rows come in batch order, so a cursor finds it.
    private mutating func taskMessageTimestamp(of offset: Int64) -> Int64 {
        guard !taskBatchTimestamps.isEmpty else { return .min }
        while taskTimestampCursor < taskBatchOffsets.count && taskBatchOffsets[taskTimestampCursor] != offset { taskTimestampCursor += 1 }
        return taskTimestampCursor < taskBatchTimestamps.count ? taskBatchTimestamps[taskTimestampCursor] : .min
    }

    // MARK: global stage

    /// The global stage's step: every run `merge` hands out now, in its order, through
    /// ``processGlobal(_:events:now:into:)``. Returns how many runs were processed, empty ones
    /// included (they open or close a batch: names, watermark, flags, trailing dead letters).
    @discardableResult
    public mutating func processGlobal(merging merge: inout GlobalInputMerge, now: Int64, into sink: inout some OutputSink) throws -> Int {
        var runs = 0
        while let run = merge.next() {
            try processGlobal(merge.batch(run.partition), events: run.range, now: now, into: &sink)
            merge.advance(run)
            runs += 1
        }
        return runs
    }

    /// The global stage's step with a label topic: the runs `merge` hands out and the labels of
    /// `labels` applied between them, in the merged order (``GlobalLabelMerge``). Returns how
    /// many runs and label batches were processed.
    @discardableResult
    mutating func processGlobal(merging merge: inout GlobalInputMerge, labels: inout GlobalLabelMerge, now: Int64,
                                endConfirmed: (_ partition: Int32, _ next: Int64) -> Bool, into sink: inout some OutputSink) throws -> Int {
        let topic = labels.topic
        return try labels.interleave(events: &merge, nowMs: now, endConfirmed: endConfirmed,
                                     process: { batch, range in try processGlobal(batch, events: range, now: now, into: &sink) },
                                     apply: { batch in try processLabels(batch, topic: topic, into: &sink) })
    }

    /// Global stage: the events of one task's batch, in its order: each is scored again and
    /// learned from by the global model (test-then-train, so metrics and retraining are those of
    /// one instance), fed to the `by: global` windows (at the minimum of the tasks' watermarks,
    /// ``currentWatermark``, which fires them at the batch's end) and to the drift monitors;
    /// drift, alerts, retrain requests, model, window and late records go to `sink`, each
    /// positioned at the task's partition and the event's offset (windows fired by a batch's
    /// watermark: at its last event).
    /// Batches of several tasks must come in the order the whole pipeline would have read them
    /// (e.g. merged by event time).
    /// - Parameter now: as ``process(_:topic:now:into:)``'s (retraining's clock with the watermark).
    /// - Parameter events: the batch's events to process now (default: all), so that batches of
    ///   several tasks can be merged event by event; call in order, each event once. The batch's
    ///   category names are learned when its first event is processed, its watermark and trailing
    ///   dead letters with its last.
    public mutating func processGlobal(_ batch: GlobalBatchReader, events: Range<Int>? = nil, now: Int64,
                                       into sink: inout some OutputSink) throws {
        precondition(role == .global, "processGlobal on a \(role) pipeline")
        let range = events ?? 0..<batch.count
        if range.lowerBound == 0 { try collectDriftJudgedInBackground(wait: false, into: &sink) }
        let task = batch.partition
        if drift != nil && range.lowerBound == 0 { learnCategoryNames(batch) }
        let dimension = globalInputs.count
        if hasGlobalWindows && batch.windowValueCount != globalWindowFields.count && !range.isEmpty {
            throw GlobalWindowInputError(partition: task, offset: batch.offset(range.lowerBound), sent: batch.windowValueCount, expected: globalWindowFields.count)
        }
        graph.clearOutputs()
        for i in range {
            sink.position(partition: task, offset: batch.offset(i))
            let time = batch.eventTime(i)
            if hasGlobalWindows { feedGlobalWindows(batch, i, task: task, time: time) }
            let label = batch.label(i)
            var p: Double?
            if model != nil, batch.dimension == dimension {
                globalInputs.withUnsafeMutableBufferPointer { batch.inputs(i, into: $0) }
                globalInputs.withUnsafeBufferPointer { x in input.withUnsafeMutableNumeric { dst in _ = dst.initialize(from: x) } }
                let id = batch.id(i)
                let o = labelTopic != nil && id.count == 8
                    ? model!.score(eventID: UInt64(littleEndian: id.loadUnaligned(as: UInt64.self)), input: &input, time: time)
                    : model!.processVersioned(&input, label: label, time: time)
                p = o.score
                counters.scored += 1
                if label != nil { counters.labelled += 1 }
                if o.version != counters.publishedModelVersion || o.pendingDecisions { try emitModelDecisions(into: &sink) }
            }
            guard drift != nil else { continue }
            drift!.pipeline.addDeadLetters(Int(batch.deadLettersBefore(i)))
            // Category ids: the task's, mapped to the global stage's (interning a new name).
            var categories = drift!.loadValues(batch, i)
            while categories != 0 {
                let m = categories.trailingZeroBitCount
                categories &= categories - 1
                let global = globalCategory(task: task, source: m, local: Int(batch.monitored(i, m)))
                drift!.values[m] = global >= 0 ? Double(global) : .nan
            }
            let closed = p == nil
                ? drift!.feedLoaded(eventTime: time, features: nil, score: nil, partition: task, offset: batch.offset(i))
                : globalInputs.withUnsafeBufferPointer { x in
                    drift!.feedLoaded(eventTime: time, features: x, score: p, partition: task, offset: batch.offset(i))
                }
            if closed { try emitDrift(now: now, eventTime: time, into: &sink) }
        }
        // Window records of late updates (and late events) of these events.
        if hasGlobalWindows {
            try emitWindowsAndLate(into: &sink)
            graph.clearOutputs()
        }
        // The batch's end (not each run of it: runs are short when tasks interleave).
        guard range.upperBound == batch.count else { return }
        taskWatermarks[task] = max(taskWatermarks[task] ?? .min, batch.watermark)
        if batch.flags.contains(.ended) { endedTasks.insert(task) } else if batch.count > 0 { endedTasks.remove(task) }
        if hasGlobalWindows {
            if batch.count > 0 { sink.position(partition: task, offset: batch.offset(batch.count - 1)) }
            globalWindowWatermark = max(globalWindowWatermark, currentWatermark)
            graph.advanceWindows(to: globalWindowWatermark)
            try emitWindowsAndLate(into: &sink)
            graph.clearOutputs()
        }
        drift?.pipeline.addDeadLetters(Int(batch.trailingDeadLetters))
        if labelTopic != nil && model != nil { expireLabels() }
        try emitModelDecisions(into: &sink)
        try emitDrift(now: now, into: &sink)
    }

    /// Event `i` of a task's batch through the `by: global` windows (its values as the task
    /// decoded them), at the global stage's watermark before it.
    private mutating func feedGlobalWindows(_ batch: GlobalBatchReader, _ i: Int, task: Int32, time: Int64) {
        for j in 0..<globalWindowFields.count { globalWindowValues[j] = batch.windowValue(i, j) }
        let wm = globalWindowWatermark
        globalWindowFields.withUnsafeBufferPointer { fields in
            globalWindowValues.withUnsafeBufferPointer { values in
                graph.processGlobalWindows(eventTime: time, partition: task, offset: batch.offset(i), fields: fields, values: values,
                                           present: batch.windowPresence(i), watermark: wm)
            }
        }
    }

    /// The global id of a task's category id (-1: never named by the task). A name is interned
    /// when an event first uses it (in the merged order: the ids one instance gives).
    private mutating func globalCategory(task: Int32, source m: Int, local: Int) -> Int32 {
        guard let remap = categoryRemap[task], local >= 0, local < remap[m].count else { return -1 }
        let id = remap[m][local]
        guard id == -2 else { return id }
        guard case .category(let f) = drift!.sources[m] else { return -1 }
        let global = graph.internCategory(field: f, value: categoryNames[task]![m][local]) ?? -1
        categoryRemap[task]![m][local] = global
        drift!.syncCategoryNames(graph.decoder)
        return global
    }

    /// Global stage: records the category names a task introduced (-2 in the remap: named,
    /// interned at first use).
    private mutating func learnCategoryNames(_ batch: GlobalBatchReader) {
        guard batch.dictionaryCount > 0, let sources = drift?.sources else { return }
        var remap = categoryRemap[batch.partition] ?? Array(repeating: [], count: sources.count)
        var names = categoryNames[batch.partition] ?? Array(repeating: [], count: sources.count)
        batch.forEachCategory { field, id, name in
            let text = String(decoding: name, as: UTF8.self)
            for (m, s) in sources.enumerated() {
                guard case .category(let f) = s, f == Int(field) else { continue }
                if remap[m].count <= Int(id) {
                    remap[m].append(contentsOf: repeatElement(-1, count: Int(id) + 1 - remap[m].count))
                    names[m].append(contentsOf: repeatElement("", count: Int(id) + 1 - names[m].count))
                }
                if remap[m][Int(id)] < 0 || names[m][Int(id)] != text {
                    remap[m][Int(id)] = -2
                    names[m][Int(id)] = text
                }
            }
        }
        categoryRemap[batch.partition] = remap
        categoryNames[batch.partition] = names
    }
}

/// A task's batch does not carry the values this global stage's `by: global` windows read (the
/// task runs another topology or an older build): nothing of it is processed.
public struct GlobalWindowInputError: Error, CustomStringConvertible, Equatable {
    public var partition: Int32
    public var offset: Int64
    public var sent: Int
    public var expected: Int
    public var description: String {
        "the global batch of task partition \(partition) (from source offset \(offset)) carries \(sent) values per event for the by: global windows; this topology's read \(expected) fields: every instance of a partitioned topology must run the same topology and a build that sends them (GlobalBatch version \(GlobalBatchFormat.version))"
    }
}

// MARK: the global stage's checkpoint

extension Pipeline {
    /// Global stage: its whole state for a checkpoint (tag "WGST" v2): ``checkpointState()``
    /// (with the `by: global` windows' state), then the global tables (``writeGlobalTables(into:processed:)``).
    /// `capacity`: bytes to reserve, as for ``checkpointState(capacity:)``.
    /// - Complexity: O(state size).
    public func globalStageState(processed: [Int64], capacity: Int = 0) -> [UInt8] {
        precondition(role == .global, "globalStageState on a \(role) pipeline")
        var w = ByteWriter(capacity: capacity)
        w.writeHeader(tag: "WGST", version: 2)
        w.writeLengthPrefixed { writeCheckpoint(into: &$0, increment: false) }
        writeGlobalTables(into: &w, processed: processed)
        return w.bytes
    }

    /// Global stage: what changed since the last ``markCheckpointed()`` (tag "WGSI" v1):
    /// ``checkpointIncrement(unchangedSince:)`` (the drift references left out when unchanged
    /// since `mark`; the contract's 200,000-value references are so written once per full
    /// image), then the global tables whole. Restore with ``restoreGlobalStageState(_:)`` of the
    /// base, then ``applyGlobalStageIncrement(_:)`` of each increment in order.
    /// `capacity`: bytes to reserve, as for ``checkpointState(capacity:)``.
    /// - Complexity: as ``checkpointIncrement(unchangedSince:)`` plus the tables.
    public func globalStageIncrement(processed: [Int64], unchangedSince mark: ReferenceMark?, capacity: Int = 0) -> [UInt8] {
        precondition(role == .global, "globalStageIncrement on a \(role) pipeline")
        var w = ByteWriter(capacity: capacity)
        w.writeHeader(tag: "WGSI", version: 1)
        w.writeLengthPrefixed { writeCheckpoint(into: &$0, increment: true, unchangedSince: mark) }
        writeGlobalTables(into: &w, processed: processed)
        return w.bytes
    }

    /// The tasks' category ids as the global stage mapped them, the tasks' newest watermarks, per
    /// task partition the newest source offset it processed (`processed`, from
    /// ``GlobalInputMerge/processedSourceOffset``), the tasks that ended and the `by: global`
    /// windows' watermark (the last two from WGST v2 on).
    private func writeGlobalTables(into w: inout ByteWriter, processed: [Int64]) {
        w.write(processed.count)
        for o in processed { w.write(o) }
        w.write(categoryRemap.count)
        for (task, perSource) in categoryRemap.sorted(by: { $0.key < $1.key }) {
            w.write(task)
            w.write(perSource.count)
            let names = categoryNames[task] ?? []
            for (m, ids) in perSource.enumerated() {
                w.write(ids.count)
                for (local, id) in ids.enumerated() {
                    w.write(id)
                    w.write(m < names.count && local < names[m].count ? names[m][local] : "")
                }
            }
        }
        w.write(taskWatermarks.count)
        for (task, mark) in taskWatermarks.sorted(by: { $0.key < $1.key }) {
            w.write(task)
            w.write(mark)
        }
        w.write(endedTasks.count)
        for task in endedTasks.sorted() { w.write(task) }
        w.write(globalWindowWatermark)
    }

    /// Reads ``writeGlobalTables(into:processed:)`` into this pipeline; returns the processed
    /// source offsets per task partition. `ended`: the bytes carry the ended tasks and window watermark.
    private mutating func readGlobalTables(_ r: inout ByteReader, ended hasEnded: Bool) throws -> [Int32: Int64] {
        var processed: [Int32: Int64] = [:]
        let n = try r.readCount(field: "global.processed", limit: 1 << 16)
        for p in 0..<n { processed[Int32(p)] = try r.readInt64() }
        var remap: [Int32: [[Int32]]] = [:]
        var names: [Int32: [[String]]] = [:]
        for _ in 0..<(try r.readCount(field: "global.remap", limit: 1 << 16)) {
            let task = try r.readInt32()
            var perSource: [[Int32]] = []
            var perSourceNames: [[String]] = []
            for _ in 0..<(try r.readCount(field: "global.remap.sources", limit: 1 << 16)) {
                var ids: [Int32] = []
                var texts: [String] = []
                for _ in 0..<(try r.readCount(field: "global.remap.ids")) {
                    ids.append(try r.readInt32())
                    texts.append(try r.readString(field: "global.remap.name"))
                }
                perSource.append(ids)
                perSourceNames.append(texts)
            }
            remap[task] = perSource
            names[task] = perSourceNames
        }
        var marks: [Int32: Int64] = [:]
        for _ in 0..<(try r.readCount(field: "global.watermarks", limit: 1 << 16)) {
            let task = try r.readInt32()
            marks[task] = try r.readInt64()
        }
        var ended: Set<Int32> = []
        var windowMark = Int64.min
        if hasEnded {
            for _ in 0..<(try r.readCount(field: "global.ended", limit: 1 << 16)) { ended.insert(try r.readInt32()) }
            windowMark = try r.readInt64()
        }
        guard r.isAtEnd else { throw SerializationError.invalidValue(field: "global", detail: "\(r.remaining) trailing bytes") }
        categoryRemap = remap
        categoryNames = names
        taskWatermarks = marks
        endedTasks = ended
        globalWindowWatermark = windowMark
        return processed
    }

    /// Restores ``globalStageState(processed:)``; returns the processed source offsets per task
    /// partition. On error the pipeline is unchanged.
    public mutating func restoreGlobalStageState(_ bytes: [UInt8]) throws(CheckpointRestoreError) -> [Int32: Int64] {
        precondition(role == .global, "restoreGlobalStageState on a \(role) pipeline")
        return try restoringGlobal(bytes, field: "global") { p, r in
            let version = try r.readHeader(tag: "WGST", supportedVersions: 1...2)
            try p.restoreState(try r.readBytes(field: "global.pipeline"))
            return try p.readGlobalTables(&r, ended: version >= 2)
        }
    }

    /// Applies ``globalStageIncrement(processed:unchangedSince:)`` bytes onto the state they were
    /// taken after; returns the processed source offsets per task partition. On error the
    /// pipeline may be left partly updated (as ``applyIncrement(_:)``): discard it.
    public mutating func applyGlobalStageIncrement(_ bytes: [UInt8]) throws(CheckpointRestoreError) -> [Int32: Int64] {
        precondition(role == .global, "applyGlobalStageIncrement on a \(role) pipeline")
        return try restoringGlobal(bytes, field: "global increment") { p, r in
            try r.readHeader(tag: "WGSI", supportedVersions: 1...1)
            try p.applyIncrement(try r.readBytes(field: "global.increment"))
            return try p.readGlobalTables(&r, ended: true)
        }
    }

    /// Runs `body` on a copy and keeps it only when it succeeds; maps errors to ``CheckpointRestoreError``.
    private mutating func restoringGlobal(_ bytes: [UInt8], field: String,
                                          _ body: (inout Pipeline, inout ByteReader) throws -> [Int32: Int64]) throws(CheckpointRestoreError) -> [Int32: Int64] {
        var copy = self
        let processed: [Int32: Int64]
        do {
            var r = ByteReader(bytes)
            processed = try body(&copy, &r)
        } catch let e as CheckpointRestoreError {
            throw e
        } catch let e as SerializationError {
            throw .damaged(e)
        } catch {
            throw .damaged(.invalidValue(field: field, detail: "\(error)"))
        }
        self = copy
        return processed
    }
}
