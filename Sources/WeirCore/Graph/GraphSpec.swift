/// Where event time comes from.
public enum TimeMode: Sendable, Equatable {
    /// Event time from a required `timestamp` (or `int` epoch-ms) field, with watermarks.
    case eventTime(field: String, watermark: WatermarkConfig)
    /// Processing time: each record's time is the `now` of its processing call, and the
    /// watermark is `now − 1`.
    case processingTime
}

/// The declaration of a stream graph: schema → decode/validate → time → keyed windows →
/// feature vector. Built from code now; a topology file builds the same value later.
public struct GraphSpec: Sendable {
    public var schema: Schema
    public var time: TimeMode
    /// Window operators, in order (results and late events carry the index).
    public var windows: [WindowSpec]
    /// The feature vector, in order (empty: no vectors are assembled).
    public var features: [FeatureSpec]
    /// Initial capacity of the per-call output buffers.
    public var batchCapacity: Int

    public init(schema: Schema, time: TimeMode, windows: [WindowSpec] = [], features: [FeatureSpec] = [], batchCapacity: Int = 1024) {
        self.schema = schema
        self.time = time
        self.windows = windows
        self.features = features
        self.batchCapacity = batchCapacity
    }
}

/// A record that failed to decode: where it came from and why.
public struct DeadLetter: Sendable, Equatable {
    public var partition: Int32
    public var offset: Int64
    public var error: DecodeError

    public init(partition: Int32, offset: Int64, error: DecodeError) {
        self.partition = partition; self.offset = offset; self.error = error
    }
}

/// Everything one or more processing calls produced, until ``StreamGraph/clearOutputs()``.
public struct GraphOutputs: Sendable {
    /// The decoded records (valid ones only), with partition, offset and event time per row.
    public internal(set) var records: RecordBatch
    /// One feature vector per decoded record (when features are declared).
    public internal(set) var features: FeatureBatch
    /// Emitted window results of all window operators.
    public internal(set) var windowResults = WindowResults()
    /// Events later than the allowed lateness (per window operator).
    public internal(set) var late = ContiguousArray<LateEvent>()
    /// Records that failed decoding or validation.
    public internal(set) var deadLetters = ContiguousArray<DeadLetter>()
    /// The first decoded record whose message key is not its key field's value, when the graph
    /// checks message keys (``StreamGraph/keyCheckField``); the batch stopped at it.
    public internal(set) var keyMismatch: KeyMismatch?

    public mutating func removeAll() {
        records.removeAll(); features.removeAll(); windowResults.removeAll()
        late.removeAll(keepingCapacity: true); deadLetters.removeAll(keepingCapacity: true)
        keyMismatch = nil
    }
}

/// A record that decoded but whose message key is not the value of the graph's key-check field
/// (``StreamGraph/keyCheckField``): events of one key may then reach several partitions.
public struct KeyMismatch: Sendable, Equatable {
    public var partition: Int32
    public var offset: Int64
    /// The message key's first ``KeyMismatch/keptKeyBytes`` bytes; nil when the message had no key.
    public var messageKey: [UInt8]?
    /// The message key's length in bytes (0 when it had none).
    public var messageKeyLength: Int
    /// The key field's value as its message key should be (UTF-8 of a string, decimal text of an
    /// int or timestamp, a category's name, `true`/`false`); nil when the record has no value.
    public var fieldValue: [UInt8]?
    /// How much of a message key a mismatch keeps (for the error message).
    public static let keptKeyBytes = 256

    public init(partition: Int32, offset: Int64, messageKey: UnsafeRawBufferPointer?, fieldValue: [UInt8]?) {
        self.partition = partition
        self.offset = offset
        self.messageKey = messageKey.map { Array($0.prefix(Self.keptKeyBytes)) }
        messageKeyLength = messageKey?.count ?? 0
        self.fieldValue = fieldValue
    }
}

/// A batch of raw messages (e.g. one Kafka poll) with their partitions and offsets; reused.
///
/// A batch filled with ``append(_:key:partition:offset:)`` also holds each message's key
/// (partitioned tasks check them, ``StreamGraph/keyCheckField``); one filled with
/// ``append(_:partition:offset:)`` holds none (nothing is checked). Fill a batch one way only.
public struct InputBatch: Sendable {
    public internal(set) var bytes = ContiguousArray<UInt8>()
    public internal(set) var starts = ContiguousArray<Int>()
    public internal(set) var partitions = ContiguousArray<Int32>()
    public internal(set) var offsets = ContiguousArray<Int64>()
    /// Message keys: key `i` is `keyBytes[keyStarts[i]..<keyStarts[i + 1]]`, or none when
    /// `keyIsNull[i]`. Empty when the batch holds no keys.
    public internal(set) var keyBytes = ContiguousArray<UInt8>()
    public internal(set) var keyStarts = ContiguousArray<Int>()
    public internal(set) var keyIsNull = ContiguousArray<Bool>()
    /// Message timestamps (epoch ms; `Int64.min`: none), when the batch was filled with them
    /// (``append(_:key:partition:offset:timestamp:)``); empty otherwise.
    public internal(set) var timestamps = ContiguousArray<Int64>()

    public init(capacity: Int = 1024) {
        bytes.reserveCapacity(capacity * 128); starts.reserveCapacity(capacity + 1)
        partitions.reserveCapacity(capacity); offsets.reserveCapacity(capacity)
        starts.append(0)
    }

    public var count: Int { partitions.count }

    /// The batch holds every message's key (it was filled with ``append(_:key:partition:offset:)``).
    public var hasKeys: Bool { count > 0 && keyIsNull.count == count }

    public mutating func append(_ message: UnsafeRawBufferPointer, partition: Int32, offset: Int64) {
        assert(keyIsNull.isEmpty, "InputBatch: a batch with keys needs a key for every message")
        bytes.append(contentsOf: message)
        starts.append(bytes.count)
        partitions.append(partition); offsets.append(offset)
    }

    public mutating func append(_ message: [UInt8], partition: Int32, offset: Int64) {
        message.withUnsafeBytes { append($0, partition: partition, offset: offset) }
    }

    /// Appends a message with its key (nil: the message has none) and, when the batch keeps them,
    /// its message timestamp (nil: a batch without timestamps; give one for every message or none).
    /// - Complexity: O(message + key); allocation-free once the buffers have grown.
    public mutating func append(_ message: UnsafeRawBufferPointer, key: UnsafeRawBufferPointer?, partition: Int32, offset: Int64,
                                timestamp: Int64? = nil) {
        precondition(keyIsNull.count == count, "InputBatch: keys were not given for every message")
        if let timestamp {
            precondition(timestamps.count == count, "InputBatch: timestamps were not given for every message")
            timestamps.append(timestamp)
        }
        if keyStarts.isEmpty { keyStarts.reserveCapacity(starts.capacity); keyStarts.append(0) }
        if let key { keyBytes.append(contentsOf: key) }
        keyStarts.append(keyBytes.count)
        keyIsNull.append(key == nil)
        bytes.append(contentsOf: message)
        starts.append(bytes.count)
        partitions.append(partition); offsets.append(offset)
    }

    public mutating func append(_ message: [UInt8], key: [UInt8]?, partition: Int32, offset: Int64) {
        message.withUnsafeBytes { m in
            if let key {
                key.withUnsafeBytes { append(m, key: $0, partition: partition, offset: offset) }
            } else {
                append(m, key: nil, partition: partition, offset: offset)
            }
        }
    }

    /// Message `i`'s key (nil: none, or the batch holds no keys), borrowed for `body`.
    public func withKey<R>(_ i: Int, _ body: (UnsafeRawBufferPointer?) throws -> R) rethrows -> R {
        guard hasKeys, !keyIsNull[i] else { return try body(nil) }
        return try keyBytes.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[keyStarts[i]..<keyStarts[i + 1]])) }
    }

    public mutating func removeAll() {
        bytes.removeAll(keepingCapacity: true); starts.removeAll(keepingCapacity: true); starts.append(0)
        partitions.removeAll(keepingCapacity: true); offsets.removeAll(keepingCapacity: true)
        keyBytes.removeAll(keepingCapacity: true); keyStarts.removeAll(keepingCapacity: true); keyIsNull.removeAll(keepingCapacity: true)
        timestamps.removeAll(keepingCapacity: true)
    }
}
