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

    public mutating func removeAll() {
        records.removeAll(); features.removeAll(); windowResults.removeAll()
        late.removeAll(keepingCapacity: true); deadLetters.removeAll(keepingCapacity: true)
    }
}

/// A batch of raw messages (e.g. one Kafka poll) with their partitions and offsets; reused.
public struct InputBatch: Sendable {
    public internal(set) var bytes = ContiguousArray<UInt8>()
    public internal(set) var starts = ContiguousArray<Int>()
    public internal(set) var partitions = ContiguousArray<Int32>()
    public internal(set) var offsets = ContiguousArray<Int64>()

    public init(capacity: Int = 1024) {
        bytes.reserveCapacity(capacity * 128); starts.reserveCapacity(capacity + 1)
        partitions.reserveCapacity(capacity); offsets.reserveCapacity(capacity)
        starts.append(0)
    }

    public var count: Int { partitions.count }

    public mutating func append(_ message: UnsafeRawBufferPointer, partition: Int32, offset: Int64) {
        bytes.append(contentsOf: message)
        starts.append(bytes.count)
        partitions.append(partition); offsets.append(offset)
    }

    public mutating func append(_ message: [UInt8], partition: Int32, offset: Int64) {
        message.withUnsafeBytes { append($0, partition: partition, offset: offset) }
    }

    public mutating func removeAll() {
        bytes.removeAll(keepingCapacity: true); starts.removeAll(keepingCapacity: true); starts.append(0)
        partitions.removeAll(keepingCapacity: true); offsets.removeAll(keepingCapacity: true)
    }
}
