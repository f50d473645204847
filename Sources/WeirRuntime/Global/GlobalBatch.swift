/// One message of the internal topic `<name>.global` (see `docs/scaling.md`): what the global
/// stage needs of the events one task scored, many events per message, in columns.
///
/// Layout (little-endian; every column starts at a multiple of 8 from the message start):
///
/// | bytes | what |
/// |---|---|
/// | 56 (version 5: 64) | header: magic `WGB1`, version (u16), flags (u16, ``GlobalBatchFormat/Flags``), task partition (i32), events n (u32), input dimension d (u16), monitored values m (u16), dictionary entries c (u32), watermark (i64), id bytes (u32), dead letters after the last event (u32), body length (u64), global-window values g (u16), 6 bytes zero; version 5: the next source offset the task reads (i64, -1: unknown), its position after this batch, dead letters included |
/// | 8n each | event time (i64), source offset (i64), score (f64), inline label (f64, NaN: none), presence mask of the monitored values (u64, bit j: value j present) |
/// | 8n, versions 4 and 5 | the record's Kafka message timestamp (i64, epoch ms; `Int64.min`: none), for ordering `model.label_topic` labels against the events |
/// | 8nw | the model inputs as scored, sparse: per event `w = ⌈d/64⌉` masks (u64; bit j of mask k: input 64k + j is not +0.0) |
/// | 4(n+1), padded to 8 | start of each event's input values in the next column (u32; the first is 0, the last their count v) |
/// | 8v | the inputs that are not +0.0, event by event, in input order (f64; -0.0 is written) |
/// | 8nm | monitored values, row by row (f64; categories as the task's category id) |
/// | 8ng, then 8n if g > 0 | the fields the `by: global` windows read (`StreamGraph.globalWindowInputFields`), row by row, as the record's raw 64-bit slots; then their presence masks (u64, bit j: value j present) |
/// | 4n, padded to 8 | dead letters read just before each event (u32) |
/// | 4(n+1), padded to 8 | end of each event's label-join id in the id bytes (u32; the first is 0) |
/// | id bytes, padded to 8 | label-join ids (`model.label_topic`'s id field), concatenated |
/// | c entries | category names new since the task's previous batch: field (u16), id (u32), length (u16), bytes, each entry padded to 8 |
///
/// A task writes version 5 when the topology reads labels from a topic (`model.label_topic`),
/// version 3 otherwise; versions 1 to 5 are read. Version 4 (2026-12-07) had no source position:
/// the global stage could not tell that a caught-up partition's last records were dead letters. Version 2 (until 2026-12-07) wrote the inputs dense (`8nd`
/// bytes, row by row, in place of the three input columns): one-hot inputs made them most of a
/// batch (the benchmark contract's one-hot of 20 merchants: 200 of its 296 bytes per event; 156
/// sparse). Version 1 (until 2026-12-06)
/// also had a 48-byte header and no global-window values (g = 0).
///
/// Invariants: `m ≤ 64`, `g ≤ 64` (one mask word each); a ``GlobalBatchReader`` accepts exactly what a
/// ``GlobalBatchWriter`` wrote and refuses anything else with a ``GlobalBatchError`` naming the
/// part and its byte offset. Cost: appending an event copies `8(5 + t + w + z + m + g + (g > 0 ? 1 : 0)) + 12`
/// bytes (t: 1 in versions 4 and 5; z: its inputs that are not +0.0; 12: its input start, dead letters and id end) plus its id into buffers reused across batches (no
/// allocation once they have grown); reading checks the header, every column's bounds and the
/// input starts and masks once at open, then one unaligned load per value.
public enum GlobalBatchFormat {
    public static let magic: UInt32 = 0x3142_4757  // "WGB1" little-endian
    /// The newest version read and written (5: with message timestamps and the task's source
    /// position; a task without a label topic writes 3, the same layout without them).
    public static let version: UInt16 = 5
    /// The header of versions 2 to 4; version 1's was 48 bytes, version 5's is 64.
    public static let headerSize = 56

    /// The header's size in `version`.
    static func headerSize(_ version: UInt16) -> Int { version == 1 ? 48 : version >= 5 ? 64 : headerSize }
    /// Most monitored values per event (the presence mask is one `UInt64`), and most
    /// global-window values.
    public static let maxMonitored = 64

    @inline(__always) static func padded8(_ n: Int) -> Int { (n + 7) & ~7 }

    /// What a task says of its partition with a batch (header bits; a marker is a batch of no
    /// events that carries only them).
    public struct Flags: OptionSet, Sendable, Hashable {
        public let rawValue: UInt16
        public init(rawValue: UInt16) { self.rawValue = rawValue }
        /// The task had read its source partition to the end when it sent this batch: the global
        /// stage need not wait for more of it before merging the other tasks' events (the rule of
        /// the timestamp merge: what is produced later is stamped later).
        public static let caughtUp = Flags(rawValue: 1)
        /// A bounded run (`--stop-at-end`): the partition ended; no event of it follows.
        public static let ended = Flags(rawValue: 2)
    }
}

/// Why bytes are not a global batch: the part that is wrong and where.
public enum GlobalBatchError: Error, Equatable, CustomStringConvertible {
    /// Shorter than its header or than the columns its header announces.
    case truncated(part: String, needed: Int, available: Int)
    /// Not a global batch, or a version this build cannot read.
    case notAGlobalBatch(magic: UInt32, version: UInt16)
    /// A value out of its range (e.g. id ends not increasing, a dictionary entry past the end).
    case invalid(part: String, offset: Int, detail: String)

    public var description: String {
        switch self {
        case let .truncated(part, needed, available): return "global batch truncated in \(part): needs \(needed) bytes, has \(available)"
        case let .notAGlobalBatch(magic, version):
            return "not a global batch (magic 0x\(String(magic, radix: 16)), version \(version); this build reads WGB1 versions 1 to \(GlobalBatchFormat.version))"
        case let .invalid(part, offset, detail): return "global batch invalid in \(part) at byte \(offset): \(detail)"
        }
    }
}

/// Builds ``GlobalBatchFormat`` messages for one task. Reused across batches: ``reset()`` keeps
/// the buffers' capacity.
public struct GlobalBatchWriter: Sendable {
    public let partition: Int32
    public let dimension: Int
    public let monitoredCount: Int
    /// Values per event for the `by: global` windows (g).
    public let windowValueCount: Int
    public private(set) var count = 0
    /// Dead letters read after the batch's last event (they count toward the next event's drift
    /// window, which may be in the next batch).
    public var trailingDeadLetters: UInt32 = 0
    /// Written in the header (``GlobalBatchFormat/Flags``); ``reset()`` clears them.
    public var flags: GlobalBatchFormat.Flags = []
    /// Version 5: the next source offset the task reads after this batch (-1: unknown);
    /// ``reset()`` clears it.
    public var readThrough: Int64 = -1
    private var eventTime: [Int64] = []
    private var offset: [Int64] = []
    private var score: [Double] = []
    private var label: [Double] = []
    private var presence: [UInt64] = []
    /// Versions 4 and 5: per event, its message timestamp.
    private var messageTimestamps: [Int64] = []
    /// Per event, `inputWords` masks of its inputs that are not +0.0; those inputs; where each event's start.
    private var inputMasks: [UInt64] = []
    private var inputs: [Double] = []
    private var inputStarts: [UInt32] = [0]
    private let inputWords: Int
    /// The format version written: 5 with message timestamps (and the source position), else 3
    /// (tests write versions 2 and 4 to check that they are still read).
    let writesVersion: UInt16
    private var monitored: [Double] = []
    private var windowValues: [Int64] = []
    private var windowPresence: [UInt64] = []
    private var deadBefore: [UInt32] = []
    private var idEnds: [UInt32] = [0]
    private var ids: [UInt8] = []
    private var dictionary: [UInt8] = []
    private var dictionaryCount = 0

    /// - Parameter messageTimestamps: write each event's message timestamp and the task's source
    ///   position (version 5; a topology with `model.label_topic`).
    /// - Precondition: `monitoredCount` and `windowValueCount` ≤ `GlobalBatchFormat.maxMonitored`, `dimension < 65536`.
    public init(partition: Int32, dimension: Int, monitoredCount: Int, windowValueCount: Int = 0, messageTimestamps: Bool = false) {
        self.init(partition: partition, dimension: dimension, monitoredCount: monitoredCount, windowValueCount: windowValueCount,
                  version: messageTimestamps ? 5 : 3)
    }

    init(partition: Int32, dimension: Int, monitoredCount: Int, windowValueCount: Int, version: UInt16) {
        precondition((2...GlobalBatchFormat.version).contains(version))
        writesVersion = version
        inputWords = version == 2 ? 0 : (dimension + 63) / 64
        precondition(monitoredCount <= GlobalBatchFormat.maxMonitored && dimension < 65_536 && monitoredCount >= 0 && dimension >= 0)
        precondition(windowValueCount >= 0 && windowValueCount <= GlobalBatchFormat.maxMonitored)
        self.partition = partition
        self.dimension = dimension
        self.monitoredCount = monitoredCount
        self.windowValueCount = windowValueCount
    }

    /// Appends one scored event. `inputs` has `dimension` values; `monitored` has
    /// `monitoredCount`, of which those whose bit is clear in `present` are ignored (written 0).
    /// `windowValues` (``windowValueCount`` raw slots; those whose bit is clear in
    /// `windowPresent` are written 0) feed the global stage's `by: global` windows.
    /// `messageTimestamp` is written by a version 4 or 5 writer only.
    public mutating func append(eventTime t: Int64, offset o: Int64, messageTimestamp: Int64 = .min, score s: Double, label l: Double?,
                                inputs x: UnsafeBufferPointer<Double>, monitored v: UnsafeBufferPointer<Double>, present: UInt64,
                                deadLettersBefore dead: UInt32 = 0, id: UnsafeRawBufferPointer? = nil,
                                windowValues g: UnsafeBufferPointer<Int64> = UnsafeBufferPointer(start: nil, count: 0), windowPresent: UInt64 = 0) {
        precondition(x.count == dimension && v.count == monitoredCount && g.count == windowValueCount)
        eventTime.append(t)
        offset.append(o)
        if writesVersion >= 4 { messageTimestamps.append(messageTimestamp) }
        score.append(s)
        label.append(l ?? .nan)
        let mask = monitoredCount == 64 ? UInt64.max : (UInt64(1) << UInt64(monitoredCount)) - 1
        presence.append(present & mask)
        if writesVersion == 2 {
            inputs.append(contentsOf: x)
        } else {
            for k in 0..<inputWords {
                var bits: UInt64 = 0
                for j in (64 * k)..<min(dimension, 64 * k + 64) where x[j].bitPattern != 0 {
                    bits |= 1 << UInt64(j - 64 * k)
                    inputs.append(x[j])
                }
                inputMasks.append(bits)
            }
            inputStarts.append(UInt32(inputs.count))
        }
        for j in 0..<monitoredCount { monitored.append(present & (1 << UInt64(j)) != 0 ? v[j] : 0) }
        if windowValueCount > 0 {
            let all = windowValueCount == 64 ? UInt64.max : (UInt64(1) << UInt64(windowValueCount)) - 1
            windowPresence.append(windowPresent & all)
            for j in 0..<windowValueCount { windowValues.append(windowPresent & (1 << UInt64(j)) != 0 ? g[j] : 0) }
        }
        deadBefore.append(dead)
        if let id { ids.append(contentsOf: id) }
        idEnds.append(UInt32(ids.count))
        count += 1
    }

    /// Records that the task's decoder named category `id` of schema field `field` (sent once,
    /// in the batch of the first event that uses it).
    public mutating func addCategory(field: UInt16, id: UInt32, name: UnsafeRawBufferPointer) {
        let length = min(name.count, Int(UInt16.max))
        withUnsafeBytes(of: field.littleEndian) { dictionary.append(contentsOf: $0) }
        withUnsafeBytes(of: id.littleEndian) { dictionary.append(contentsOf: $0) }
        withUnsafeBytes(of: UInt16(length).littleEndian) { dictionary.append(contentsOf: $0) }
        dictionary.append(contentsOf: UnsafeRawBufferPointer(rebasing: name[0..<length]))
        dictionary.append(contentsOf: repeatElement(0, count: GlobalBatchFormat.padded8(8 + length) - 8 - length))
        dictionaryCount += 1
    }

    /// Empties the batch, keeping capacity.
    public mutating func reset() {
        count = 0
        trailingDeadLetters = 0
        flags = []
        readThrough = -1
        eventTime.removeAll(keepingCapacity: true); offset.removeAll(keepingCapacity: true)
        score.removeAll(keepingCapacity: true); label.removeAll(keepingCapacity: true)
        presence.removeAll(keepingCapacity: true); inputs.removeAll(keepingCapacity: true)
        messageTimestamps.removeAll(keepingCapacity: true)
        inputMasks.removeAll(keepingCapacity: true); inputStarts.removeAll(keepingCapacity: true); inputStarts.append(0)
        monitored.removeAll(keepingCapacity: true); deadBefore.removeAll(keepingCapacity: true)
        windowValues.removeAll(keepingCapacity: true); windowPresence.removeAll(keepingCapacity: true)
        ids.removeAll(keepingCapacity: true); dictionary.removeAll(keepingCapacity: true)
        idEnds.removeAll(keepingCapacity: true); idEnds.append(0)
        dictionaryCount = 0
    }

    /// The message's size in bytes.
    public var encodedSize: Int {
        let n = count
        let inputBytes = writesVersion == 2 ? 8 * n * dimension : 8 * inputMasks.count + GlobalBatchFormat.padded8(4 * (n + 1)) + 8 * inputs.count
        return GlobalBatchFormat.headerSize(writesVersion) + 8 * n * (5 + (writesVersion >= 4 ? 1 : 0) + monitoredCount + windowValueCount + (windowValueCount > 0 ? 1 : 0)) + inputBytes
            + GlobalBatchFormat.padded8(4 * n) + GlobalBatchFormat.padded8(4 * (n + 1))
            + GlobalBatchFormat.padded8(ids.count) + dictionary.count
    }

    /// Writes the message into `out` (replacing its contents, keeping its capacity).
    /// - Parameter watermark: the task's event-time watermark after these events.
    public func encode(watermark: Int64, into out: inout [UInt8]) {
        let size = encodedSize
        out.removeAll(keepingCapacity: true)
        out.reserveCapacity(size)
        out.append(contentsOf: repeatElement(0, count: size))
        out.withUnsafeMutableBytes { b in
            var at = 0
            func put<T: FixedWidthInteger>(_ v: T) { b.storeBytes(of: v.littleEndian, toByteOffset: at, as: T.self); at += MemoryLayout<T>.size }
            put(GlobalBatchFormat.magic); put(writesVersion); put(flags.rawValue)
            put(partition); put(UInt32(count)); put(UInt16(dimension)); put(UInt16(monitoredCount))
            let headerSize = GlobalBatchFormat.headerSize(writesVersion)
            put(UInt32(dictionaryCount)); put(watermark); put(UInt32(ids.count)); put(trailingDeadLetters); put(UInt64(size - headerSize))
            put(UInt16(windowValueCount)); at = GlobalBatchFormat.headerSize  // then 6 bytes of zeros
            if writesVersion >= 5 { put(readThrough) }
            at = headerSize
            func column<T>(_ a: [T]) {
                a.withUnsafeBytes { src in
                    if src.count > 0 { UnsafeMutableRawBufferPointer(rebasing: b[at..<(at + src.count)]).copyMemory(from: src) }
                    at += GlobalBatchFormat.padded8(src.count)
                }
            }
            column(eventTime); column(offset); column(score); column(label); column(presence)
            if writesVersion >= 4 { column(messageTimestamps) }
            if writesVersion != 2 { column(inputMasks); column(inputStarts) }
            column(inputs); column(monitored); column(windowValues); column(windowPresence); column(deadBefore); column(idEnds); column(ids); column(dictionary)
            assert(at == size)
        }
    }
}

/// Reads a ``GlobalBatchFormat`` message in place (no copy of its columns; valid while the
/// bytes are). Opening checks the header and every column's bounds once; accessors do not.
public struct GlobalBatchReader {
    public let bytes: UnsafeRawBufferPointer
    public let partition: Int32
    public let count: Int
    public let dimension: Int
    public let monitoredCount: Int
    /// Values per event for the `by: global` windows (0 in version 1).
    public let windowValueCount: Int
    public let watermark: Int64
    public let dictionaryCount: Int
    /// Dead letters read after the last event (``GlobalBatchWriter/trailingDeadLetters``).
    public let trailingDeadLetters: UInt32
    /// What the task said of its partition (``GlobalBatchFormat/Flags``).
    public let flags: GlobalBatchFormat.Flags
    /// Version 5: the next source offset the task reads after this batch (its position, dead
    /// letters included); nil before version 5 or when the task did not know it.
    public let readThrough: Int64?
    private let eventTimeAt: Int, offsetAt: Int, scoreAt: Int, labelAt: Int, presenceAt: Int
    /// Versions 4 and 5: the message timestamps (-1: a batch without them).
    private let messageTimestampAt: Int
    /// Version 3: the inputs' masks (`inputWords` per event) and starts; 0 words: dense (versions 1, 2).
    private let inputWords: Int, inputMasksAt: Int, inputStartsAt: Int
    private let inputsAt: Int, monitoredAt: Int, windowValuesAt: Int, windowPresenceAt: Int, deadAt: Int, idEndsAt: Int, idsAt: Int, dictionaryAt: Int

    /// - Throws: ``GlobalBatchError`` when `bytes` are not a complete global batch of this version.
    public init(_ bytes: UnsafeRawBufferPointer) throws(GlobalBatchError) {
        self.bytes = bytes
        guard bytes.count >= 48 else { throw .truncated(part: "header", needed: GlobalBatchFormat.headerSize, available: bytes.count) }
        func get<T: FixedWidthInteger>(_ at: Int, _: T.Type) -> T { T(littleEndian: bytes.loadUnaligned(fromByteOffset: at, as: T.self)) }
        let magic = get(0, UInt32.self), version = get(4, UInt16.self)
        guard magic == GlobalBatchFormat.magic, (1...GlobalBatchFormat.version).contains(version) else { throw .notAGlobalBatch(magic: magic, version: version) }
        let headerSize = GlobalBatchFormat.headerSize(version)
        guard bytes.count >= headerSize else { throw .truncated(part: "header", needed: headerSize, available: bytes.count) }
        let position = version >= 5 ? get(56, Int64.self) : -1
        readThrough = position >= 0 ? position : nil
        let g = version == 1 ? 0 : Int(get(48, UInt16.self))
        guard g <= GlobalBatchFormat.maxMonitored else { throw .invalid(part: "header", offset: 48, detail: "\(g) global-window values (at most 64)") }
        windowValueCount = g
        flags = GlobalBatchFormat.Flags(rawValue: get(6, UInt16.self))
        partition = get(8, Int32.self)
        let n = Int(get(12, UInt32.self)), d = Int(get(16, UInt16.self)), m = Int(get(18, UInt16.self))
        count = n; dimension = d; monitoredCount = m
        dictionaryCount = Int(get(20, UInt32.self))
        watermark = get(24, Int64.self)
        let idBytes = Int(get(32, UInt32.self))
        trailingDeadLetters = get(36, UInt32.self)
        let body = get(40, UInt64.self)
        guard m <= GlobalBatchFormat.maxMonitored else { throw .invalid(part: "header", offset: 18, detail: "\(m) monitored values (at most 64)") }
        guard body == UInt64(bytes.count - headerSize) else {
            throw .truncated(part: "body", needed: headerSize + Int(clamping: body), available: bytes.count)
        }
        var at = headerSize
        func take(_ length: Int) -> Int { defer { at += GlobalBatchFormat.padded8(length) }; return at }
        eventTimeAt = take(8 * n); offsetAt = take(8 * n); scoreAt = take(8 * n); labelAt = take(8 * n); presenceAt = take(8 * n)
        messageTimestampAt = version >= 4 ? take(8 * n) : -1
        if version >= 3 {
            // Sparse inputs: masks, starts, then as many values as the last start says.
            let words = (d + 63) / 64
            inputWords = words
            inputMasksAt = take(8 * n * words); inputStartsAt = take(4 * (n + 1))
            guard at <= bytes.count else { throw .truncated(part: "input starts", needed: at, available: bytes.count) }
            // Starts: from 0, each the previous plus the bits of the event's masks; no mask bit past
            // the dimension (reads stay inside the values and the caller's `dimension` inputs).
            let spare = d % 64 == 0 ? 0 : ~((UInt64(1) << UInt64(d % 64)) - 1)
            var expected = 0
            for i in 0...n {
                let start = get(inputStartsAt + 4 * i, UInt32.self)
                guard Int(start) == expected else {
                    throw .invalid(part: "input starts", offset: inputStartsAt + 4 * i, detail: "\(start), expected \(expected) (the previous start plus its masks' bits)")
                }
                guard i < n else { break }
                for k in 0..<words {
                    let bits = get(inputMasksAt + 8 * (i * words + k), UInt64.self)
                    if k == words - 1, bits & spare != 0 {
                        throw .invalid(part: "input masks", offset: inputMasksAt + 8 * (i * words + k), detail: "a bit past dimension \(d)")
                    }
                    expected += bits.nonzeroBitCount
                }
            }
            inputsAt = take(8 * expected)
        } else {
            inputWords = 0; inputMasksAt = 0; inputStartsAt = 0
            inputsAt = take(8 * n * d)
        }
        monitoredAt = take(8 * n * m)
        windowValuesAt = take(8 * n * g); windowPresenceAt = take(g > 0 ? 8 * n : 0); deadAt = take(4 * n); idEndsAt = take(4 * (n + 1))
        idsAt = take(idBytes)
        dictionaryAt = at
        guard at <= bytes.count else { throw .truncated(part: "columns", needed: at, available: bytes.count) }
        // Id ends: start at 0, never decrease, end at the id bytes.
        var previous: UInt32 = 0
        for i in 0...n {
            let e = get(idEndsAt + 4 * i, UInt32.self)
            guard (i > 0 || e == 0), e >= previous, Int(e) <= idBytes else {
                throw .invalid(part: "id ends", offset: idEndsAt + 4 * i, detail: "\(e) after \(previous) (id bytes: \(idBytes))")
            }
            previous = e
        }
        guard Int(previous) == idBytes else { throw .invalid(part: "id ends", offset: idEndsAt + 4 * n, detail: "last end \(previous) ≠ \(idBytes) id bytes") }
        // Dictionary entries fill the rest exactly.
        var p = dictionaryAt
        for k in 0..<dictionaryCount {
            guard p + 8 <= bytes.count else { throw .truncated(part: "dictionary entry \(k)", needed: p + 8, available: bytes.count) }
            let length = Int(get(p + 6, UInt16.self))
            guard p + GlobalBatchFormat.padded8(8 + length) <= bytes.count else {
                throw .truncated(part: "dictionary entry \(k)", needed: p + 8 + length, available: bytes.count)
            }
            p += GlobalBatchFormat.padded8(8 + length)
        }
        guard p == bytes.count else { throw .invalid(part: "dictionary", offset: p, detail: "\(bytes.count - p) bytes after the last entry") }
    }

    @inline(__always) private func load<T>(_ at: Int, _: T.Type) -> T { bytes.loadUnaligned(fromByteOffset: at, as: T.self) }

    @inline(__always) public func eventTime(_ i: Int) -> Int64 { Int64(littleEndian: load(eventTimeAt + 8 * i, Int64.self)) }
    @inline(__always) public func offset(_ i: Int) -> Int64 { Int64(littleEndian: load(offsetAt + 8 * i, Int64.self)) }
    /// Whether the batch carries message timestamps (versions 4 and 5).
    public var hasMessageTimestamps: Bool { messageTimestampAt >= 0 }
    /// Event `i`'s Kafka message timestamp (epoch ms); nil when the batch has none or the record had none.
    @inline(__always) public func messageTimestamp(_ i: Int) -> Int64? {
        guard messageTimestampAt >= 0 else { return nil }
        let t = Int64(littleEndian: load(messageTimestampAt + 8 * i, Int64.self))
        return t == .min ? nil : t
    }
    @inline(__always) public func score(_ i: Int) -> Double { Double(bitPattern: UInt64(littleEndian: load(scoreAt + 8 * i, UInt64.self))) }
    /// The inline label, nil when the event had none.
    @inline(__always) public func label(_ i: Int) -> Double? {
        let l = Double(bitPattern: UInt64(littleEndian: load(labelAt + 8 * i, UInt64.self)))
        return l.isNaN ? nil : l
    }
    /// Bit `j` set: monitored value `j` of event `i` is present.
    @inline(__always) public func presence(_ i: Int) -> UInt64 { UInt64(littleEndian: load(presenceAt + 8 * i, UInt64.self)) }
    /// Input `j` of event `i` (``inputs(_:into:)`` reads them all at once).
    public func input(_ i: Int, _ j: Int) -> Double {
        guard inputWords > 0 else { return Double(bitPattern: UInt64(littleEndian: load(inputsAt + 8 * (i * dimension + j), UInt64.self))) }
        let k = j / 64, bit = UInt64(1) << UInt64(j % 64)
        let word = UInt64(littleEndian: load(inputMasksAt + 8 * (i * inputWords + k), UInt64.self))
        guard word & bit != 0 else { return 0 }
        var at = Int(UInt32(littleEndian: load(inputStartsAt + 4 * i, UInt32.self)))
        for w in 0..<k { at += UInt64(littleEndian: load(inputMasksAt + 8 * (i * inputWords + w), UInt64.self)).nonzeroBitCount }
        at += (word & (bit - 1)).nonzeroBitCount
        return Double(bitPattern: UInt64(littleEndian: load(inputsAt + 8 * at, UInt64.self)))
    }
    @inline(__always) public func monitored(_ i: Int, _ j: Int) -> Double {
        Double(bitPattern: UInt64(littleEndian: load(monitoredAt + 8 * (i * monitoredCount + j), UInt64.self)))
    }
    /// Global-window value `j` of event `i` (a raw 64-bit slot; meaningful when its bit is set in ``windowPresence(_:)``).
    @inline(__always) public func windowValue(_ i: Int, _ j: Int) -> Int64 { Int64(littleEndian: load(windowValuesAt + 8 * (i * windowValueCount + j), Int64.self)) }
    /// Bit `j` set: global-window value `j` of event `i` is present (0 when the batch has none).
    @inline(__always) public func windowPresence(_ i: Int) -> UInt64 {
        windowValueCount == 0 ? 0 : UInt64(littleEndian: load(windowPresenceAt + 8 * i, UInt64.self))
    }
    @inline(__always) public func deadLettersBefore(_ i: Int) -> UInt32 { UInt32(littleEndian: load(deadAt + 4 * i, UInt32.self)) }

    /// Copies event `i`'s model inputs into `out` (`dimension` values).
    public func inputs(_ i: Int, into out: UnsafeMutableBufferPointer<Double>) {
        precondition(out.count >= dimension)
        if inputWords > 0 {
            // Sparse (checked at open: the masks' bits are below `dimension`, the values in bounds).
            UnsafeMutableRawBufferPointer(rebasing: UnsafeMutableRawBufferPointer(out)[0..<(8 * dimension)]).initializeMemory(as: UInt8.self, repeating: 0)
            var at = inputsAt + 8 * Int(UInt32(littleEndian: load(inputStartsAt + 4 * i, UInt32.self)))
            for k in 0..<inputWords {
                var bits = UInt64(littleEndian: load(inputMasksAt + 8 * (i * inputWords + k), UInt64.self))
                while bits != 0 {
                    out[64 * k + bits.trailingZeroBitCount] = Double(bitPattern: UInt64(littleEndian: load(at, UInt64.self)))
                    at += 8
                    bits &= bits - 1
                }
            }
            return
        }
        UnsafeMutableRawBufferPointer(out).copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[(inputsAt + 8 * i * dimension)..<(inputsAt + 8 * (i + 1) * dimension)]))
        #if _endian(big)
        for j in 0..<dimension { out[j] = Double(bitPattern: UInt64(littleEndian: out[j].bitPattern)) }
        #endif
    }

    /// Event `i`'s label-join id (empty when it has none).
    public func id(_ i: Int) -> UnsafeRawBufferPointer {
        let s = Int(UInt32(littleEndian: load(idEndsAt + 4 * i, UInt32.self)))
        let e = Int(UInt32(littleEndian: load(idEndsAt + 4 * (i + 1), UInt32.self)))
        return UnsafeRawBufferPointer(rebasing: bytes[(idsAt + s)..<(idsAt + e)])
    }

    /// The category names new in this batch, in the order the task added them.
    public func forEachCategory(_ body: (_ field: UInt16, _ id: UInt32, _ name: UnsafeRawBufferPointer) throws -> Void) rethrows {
        var p = dictionaryAt
        for _ in 0..<dictionaryCount {
            let length = Int(UInt16(littleEndian: load(p + 6, UInt16.self)))
            try body(UInt16(littleEndian: load(p, UInt16.self)), UInt32(littleEndian: load(p + 2, UInt32.self)),
                     UnsafeRawBufferPointer(rebasing: bytes[(p + 8)..<(p + 8 + length)]))
            p += GlobalBatchFormat.padded8(8 + length)
        }
    }
}
