import WeirKafka
import WeirTopology

/// Writes outputs to the topology's sink topics with an idempotent (or transactional) producer.
///
/// Every output record carries the headers of `docs/records.md` (section "Kafka headers"):
/// `weir.id` (`<source topic>/<partition>/<offset>/<seq>`: the input record it follows from, see
/// ``OutputSink/position(partition:offset:)``, and its ordinal among the records of the same
/// output topic following from that input record), `weir.epoch` (the checkpoint epoch that will
/// cover it) and, exactly-once, `weir.txn` (`<owner>/<epoch>/<n>`: the transaction and the
/// record's index in it). A consumer drops duplicates by (topic, `weir.id`). One header for the
/// origin, not four: librdkafka allocates each header of each record (benchmarks/RESULTS.md,
/// 2026-12-07 15:08 UTC).
///
/// Dead letters carry the original bytes as value and headers `weir.error`, `weir.field`,
/// `weir.source.topic`, `weir.source.partition`, `weir.source.offset` (and the epoch headers).
public struct KafkaSink: OutputSink {
    public let producer: KafkaProducer
    private let topics: [ProducerTopic]
    private let dlq: ProducerTopic
    /// Tag records with origin and epoch headers.
    public var tagging: Bool
    public let sourceTopic: String
    /// The checkpoint epoch being written (records are tagged with it).
    public var epoch: UInt64 = 1
    /// Exactly-once: the transaction owner (records get `weir.txn`).
    public var transactionOwner: String? {
        didSet { ownerBytes = Array((transactionOwner ?? "").utf8) }
    }
    /// Output records written in the current epoch (including dead letters).
    public private(set) var written: UInt64 = 0
    private var partition: Int32 = -1
    private var offset: Int64 = -1
    // Per output kind: the position of its last record and the ordinal there.
    private var lastPartition = [Int32](repeating: -1, count: OutputKind.allCases.count + 1)
    private var lastOffset = [Int64](repeating: -1, count: OutputKind.allCases.count + 1)
    private var seq = [Int](repeating: 0, count: OutputKind.allCases.count + 1)
    /// The headers of the record being written, rebuilt per record without allocating.
    private var headers = HeaderBlock(capacity: 8)
    private let sourceTopicBytes: [UInt8]
    private var ownerBytes: [UInt8] = []

    public init(producer: KafkaProducer, sinks: SinksSpec, sourceTopic: String = "", tagging: Bool = false) throws {
        self.producer = producer
        topics = try OutputKind.allCases.map { try producer.topic(Self.topicName($0, sinks)) }
        dlq = try producer.topic(sinks.deadLetters)
        self.sourceTopic = sourceTopic
        self.tagging = tagging
        sourceTopicBytes = Array(sourceTopic.utf8)
    }

    /// Whether records are tagged with the origin and epoch headers: with checkpoints, unless the
    /// topology's `processing.output_headers` is `none` at least once (exactly once always tags).
    public static func tags(checkpointed: Bool, headers: ProcessingSpec.OutputHeaders, exactlyOnce: Bool) -> Bool {
        checkpointed && (headers == .dedup || exactlyOnce)
    }

    /// The topic a kind of output goes to.
    public static func topicName(_ kind: OutputKind, _ sinks: SinksSpec) -> String {
        switch kind {
        case .scores: return sinks.scores
        case .features: return sinks.features
        case .windows: return sinks.windows
        case .late: return sinks.late
        case .drift: return sinks.drift
        case .alerts: return sinks.alerts
        case .retrain: return sinks.retrain
        case .models: return sinks.models
        }
    }

    /// Every enabled sink topic name (outputs and dead letters), for creating topics on start.
    public static func topicNames(_ sinks: SinksSpec) -> [String] {
        OutputKind.allCases.filter { sinks.isEnabled($0) }.map { topicName($0, sinks) }
            + [sinks.deadLetters]
    }

    /// Starts a new epoch: records written from now on are tagged with it and counted afresh.
    public mutating func begin(epoch: UInt64) {
        self.epoch = epoch
        written = 0
    }

    public mutating func position(partition: Int32, offset: Int64) {
        self.partition = partition
        self.offset = offset
    }

    /// Fills `headers` for a record of kind slot `k` at the current position.
    private mutating func tag(_ k: Int) {
        headers.removeAll()
        if lastPartition[k] == partition && lastOffset[k] == offset {
            seq[k] += 1
        } else {
            lastPartition[k] = partition
            lastOffset[k] = offset
            seq[k] = 0
        }
        headers.begin("weir.id")
        headers.write(sourceTopicBytes)
        headers.write(ascii: UInt8(ascii: "/"))
        headers.write(decimal: Int64(partition))
        headers.write(ascii: UInt8(ascii: "/"))
        headers.write(decimal: offset)
        headers.write(ascii: UInt8(ascii: "/"))
        headers.write(decimal: Int64(seq[k]))
        headers.end()
        appendEpochAndTransaction()
    }

    /// `weir.epoch` and, exactly once, `weir.txn: <owner>/<epoch>/<n>`.
    private mutating func appendEpochAndTransaction() {
        headers.append("weir.epoch", decimal: Int64(bitPattern: epoch))
        if transactionOwner != nil {
            headers.begin("weir.txn")
            headers.write(ownerBytes)
            headers.write(ascii: UInt8(ascii: "/"))
            headers.write(decimal: Int64(bitPattern: epoch))
            headers.write(ascii: UInt8(ascii: "/"))
            headers.write(decimal: Int64(bitPattern: written))
            headers.end()
        }
    }

    public mutating func write(_ kind: OutputKind, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer) throws {
        if tagging {
            tag(kind.rawValue)
            try producer.send(to: topics[kind.rawValue], key: key, value: value, headers: headers)
        } else {
            try producer.send(to: topics[kind.rawValue], key: key, value: value)
        }
        written &+= 1
    }

    public mutating func deadLetter(original: UnsafeRawBufferPointer, reason: String, field: String?, source: SourcePosition) throws {
        headers.removeAll()
        headers.append("weir.error", bytes: Array(reason.utf8))
        headers.append("weir.source.topic", bytes: Array(source.topic.utf8))
        headers.append("weir.source.partition", decimal: Int64(source.partition))
        headers.append("weir.source.offset", decimal: source.offset)
        if let field { headers.append("weir.field", bytes: Array(field.utf8)) }
        if tagging { appendEpochAndTransaction() }
        try producer.send(to: dlq, key: nil, value: original, headers: headers)
        written &+= 1
    }
}
