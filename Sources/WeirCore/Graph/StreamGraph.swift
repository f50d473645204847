/// The operator graph: sources → decode/validate → event time and watermark → keyed windowed
/// aggregates → feature-vector assembly → outputs (records, features, window results, late
/// events, dead letters) for downstream modules (model, drift, sinks).
///
/// Per record, in order: decode (errors → dead letters); event time; every window operator
/// processes the record at the watermark *before* it (Flink punctuated semantics); the feature
/// vector is assembled (window features include the current event); then the watermark is
/// updated and due windows fire. Outputs accumulate until ``clearOutputs()``
/// (``process(_:now:)`` clears them first).
///
/// Times are arguments: `now` is wall-clock epoch ms, so tests run on a manual clock.
/// - Complexity: per record O(bytes + Σ windows-per-event × aggregates + dimension);
///   allocation-free in steady state.
public struct StreamGraph: Sendable {
    public let spec: GraphSpec
    public internal(set) var decoder: RecordDecoder

    /// Interns a category of a schema field in the decoder (see ``RecordDecoder/internCategory(field:value:)``).
    public mutating func internCategory(field: Int, value: String) -> Int32? { decoder.internCategory(field: field, value: value) }
    public internal(set) var watermarks: WatermarkTracker
    public internal(set) var windows: [WindowOperator]

    /// Bytes of window state in use by live windows and keys, summed over the operators
    /// (``WindowOperator/liveStateBytes``, each O(1)): what a memory budget compares.
    public var windowStateBytesInUse: Int { windows.reduce(0) { $0 + $1.liveStateBytes } }

    /// Lets every window operator add new keys, or refuses them (keys already held keep working).
    public mutating func setAdmitsNewKeys(_ admit: Bool) {
        for i in windows.indices where windows[i].admitsNewKeys != admit { windows[i].admitsNewKeys = admit }
    }
    public let assembler: FeatureAssembler?
    public internal(set) var outputs: GraphOutputs
    let timeField: Int
    /// Processing-time mode: the last `now − 1`.
    var processingWatermark: Int64 = .min
    /// How many records ahead the batch loop prefetches keyed window state (0: no prefetch;
    /// clamped to 0...64). Only speed depends on it.
    public var prefetchDistance = 4
    /// Indices of the keyed window operators (the prefetch targets).
    let keyedWindows: ContiguousArray<Int>
    /// The schema field every decoded record's message key must equal (`-1`: no check), in
    /// ``process(_:now:)`` of a batch holding keys (``InputBatch/hasKeys``): a partitioned task's
    /// key rule (docs/scaling.md). The key is compared with the field's value as a producer keying
    /// by it writes it: a string's UTF-8 bytes, an int's or timestamp's decimal text, a category's
    /// name, `true`/`false`; a record without a value for the field never matches. The first
    /// record that does not match stops the batch (``GraphOutputs/keyMismatch``); dead letters are
    /// not checked. A `double` field never matches.
    public var keyCheckField = -1
    /// Decoded records seen, dead letters seen (lifetime counters).
    public internal(set) var recordsProcessed = 0
    public internal(set) var deadLetterCount = 0

    /// Builds the graph.
    /// - Parameter now: wall-clock ms at start (idleness of unseen partitions counts from here).
    /// - Throws: ``SchemaError`` for any invalid window, aggregate, feature or time field.
    public init(_ spec: GraphSpec, now: Int64 = 0) throws(SchemaError) {
        self.spec = spec
        var decoder = RecordDecoder(schema: spec.schema)
        var windows: [WindowOperator] = []
        var names = Set<String>()
        for (i, w) in spec.windows.enumerated() {
            guard names.insert(w.name).inserted else { throw .duplicateName(w.name) }
            windows.append(try WindowOperator(spec: w, schema: spec.schema, index: i))
        }
        switch spec.time {
        case .eventTime(let f, let wmc):
            timeField = try spec.schema.requireField(f, types: [.timestamp, .int])
            guard spec.schema.fields[timeField].required else { throw .invalidFeature(detail: "time field '\(f)' must be required") }
            guard wmc.outOfOrderness >= 0, wmc.partitionCount >= 1 else { throw .invalidWindow(detail: "bad watermark config") }
            watermarks = WatermarkTracker(config: wmc, now: now)
        case .processingTime:
            timeField = -1
            watermarks = WatermarkTracker(config: WatermarkConfig(), now: now)
        }
        assembler = spec.features.isEmpty ? nil : try FeatureAssembler(specs: spec.features, schema: spec.schema, decoder: &decoder, windows: &windows)
        self.decoder = decoder
        self.windows = windows
        keyedWindows = ContiguousArray(windows.indices.filter { windows[$0].isKeyed })
        outputs = GraphOutputs(records: RecordBatch(fieldCount: spec.schema.count, capacity: spec.batchCapacity),
                               features: FeatureBatch(names: assembler?.names ?? [], capacity: spec.batchCapacity))
    }

    /// The current watermark (event time) or `now − 1` of the last call (processing time).
    public var watermark: Int64 { timeField < 0 ? processingWatermark : watermarks.watermark }

    /// Clears all outputs (keeping storage).
    public mutating func clearOutputs() { outputs.removeAll() }

    /// Processes a whole input batch: clears outputs, applies idleness at `now`, processes every
    /// message in order.
    /// The batch is decoded first, then its records go through the windows in order, looking
    /// ``prefetchDistance`` records ahead (see ``process(messages:starts:partition:firstOffset:now:)``);
    /// the outputs are those of processing the messages one by one.
    ///
    /// With ``keyCheckField`` set and a batch holding keys, each decoded record's message key is
    /// checked first: at the first mismatch the batch stops (``GraphOutputs/keyMismatch``; the
    /// records after it are not decoded and no record of the batch reaches the windows).
    public mutating func process(_ input: InputBatch, now: Int64) {
        clearOutputs()
        tick(now: now)
        if keyCheckField >= 0 && input.hasKeys {
            processCheckingKeys(input, now: now)
            return
        }
        input.bytes.withUnsafeBytes { all in
            input.starts.withUnsafeBufferPointer { st in
                input.partitions.withUnsafeBufferPointer { pa in
                    input.offsets.withUnsafeBufferPointer { of in
                        processBatch(all, starts: UnsafeBufferPointer(rebasing: st[0..<input.count + 1]),
                                     partitions: pa, offsets: of, partition: 0, firstOffset: 0, now: now)
                    }
                }
            }
        }
    }

    /// Processes one message (appending to outputs).
    public mutating func process(_ message: UnsafeRawBufferPointer, partition: Int32, offset: Int64, now: Int64) {
        if timeField < 0 { advanceProcessingTime(now) }
        let ok = Self.step(message, partition: partition, offset: offset, now: now, timeField: timeField,
                           processingWatermark: processingWatermark, decoder: &decoder, watermarks: &watermarks,
                           windows: &windows, assembler: assembler, records: &outputs.records,
                           features: &outputs.features, results: &outputs.windowResults, late: &outputs.late,
                           deadLetters: &outputs.deadLetters)
        if ok { recordsProcessed += 1 } else { deadLetterCount += 1 }
    }

    /// One record through the graph. Static, with every piece of state as its own `inout`
    /// argument, so no struct is copied per event.
    @inline(__always)
    static func step(_ message: UnsafeRawBufferPointer, partition: Int32, offset: Int64, now: Int64, timeField: Int,
                     processingWatermark: Int64, decoder: inout RecordDecoder, watermarks: inout WatermarkTracker,
                     windows: inout [WindowOperator], assembler: FeatureAssembler?, records: inout RecordBatch,
                     features: inout FeatureBatch, results: inout WindowResults, late: inout ContiguousArray<LateEvent>,
                     deadLetters: inout ContiguousArray<DeadLetter>) -> Bool {
        let row: Int
        do {
            row = try decoder.decode(message, into: &records, partition: partition, offset: offset)
        } catch {
            deadLetters.append(DeadLetter(partition: partition, offset: offset, error: error))
            return false
        }
        stepDecoded(row, partition: partition, now: now, timeField: timeField, processingWatermark: processingWatermark,
                    watermarks: &watermarks, windows: &windows, assembler: assembler, records: &records,
                    features: &features, results: &results, late: &late)
        return true
    }

    /// A decoded record (row `row` of `records`) through event time, windows, feature assembly
    /// and the watermark.
    @inline(__always)
    static func stepDecoded(_ row: Int, partition: Int32, now: Int64, timeField: Int, processingWatermark: Int64,
                            watermarks: inout WatermarkTracker, windows: inout [WindowOperator], assembler: FeatureAssembler?,
                            records: inout RecordBatch, features: inout FeatureBatch, results: inout WindowResults,
                            late: inout ContiguousArray<LateEvent>) {
        let ts: Int64
        let wm: Int64
        if timeField >= 0 {
            ts = records.int(row, timeField)
            wm = watermarks.watermark
        } else {
            ts = now
            wm = processingWatermark
        }
        records.setEventTime(row, ts)
        for i in windows.indices {
            windows[i].process(records, row: row, ts: ts, watermark: wm, results: &results, late: &late)
        }
        if let assembler { assembler.assemble(records, row: row, windows: windows, into: &features) }
        if timeField >= 0 {
            let nw = watermarks.observe(partition: partition, eventTime: ts, now: now)
            if nw > wm {
                // a read first: most watermark steps have no due timer (no mutable access then)
                for i in windows.indices where windows[i].hasDueTimer(at: nw) { windows[i].advance(to: nw, results: &results) }
            }
        }
    }

    /// Processes one message given as bytes.
    public mutating func process(_ message: [UInt8], partition: Int32 = 0, offset: Int64 = 0, now: Int64) {
        message.withUnsafeBytes { process($0, partition: partition, offset: offset, now: now) }
    }

    /// Advances time without data: idle partitions stop holding the watermark back, and when all
    /// are idle the watermark follows wall-clock time; due windows fire.
    public mutating func tick(now: Int64) {
        if timeField >= 0 {
            let before = watermarks.watermark
            let nw = watermarks.advance(now: now)
            if nw > before { fire(nw) }
        } else {
            advanceProcessingTime(now)
        }
    }

    /// The input of source partition `p` ended (a bounded run reached its end): the partition
    /// stops holding the watermark back (``WatermarkTracker/markIdle(partition:)``) and windows
    /// the new watermark passes fire, as a tick would fire them. A partition never read (an
    /// empty one) otherwise holds the watermark at its start for the whole run.
    public mutating func partitionEnded(_ p: Int32) {
        guard timeField >= 0 else { return }
        let before = watermarks.watermark
        let nw = watermarks.markIdle(partition: p)
        if nw > before { fire(nw) }
    }

    mutating func advanceProcessingTime(_ now: Int64) {
        if now &- 1 > processingWatermark {
            processingWatermark = now &- 1
            fire(processingWatermark)
        }
    }

    mutating func fire(_ wm: Int64) {
        for i in windows.indices { windows[i].advance(to: wm, results: &outputs.windowResults) }
    }

    /// End of input: emits all pending windows (kind `.flushed`) and frees window state.
    public mutating func flush() {
        for i in windows.indices { windows[i].flush(results: &outputs.windowResults) }
    }

    /// The index of a window operator by name.
    public func windowIndex(_ name: String) -> Int? { windows.firstIndex { $0.spec.name == name } }
}
