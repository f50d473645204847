import WeirKafka

/// Checkpoints in a Kafka changelog topic (`<topology>.changelog`, partition 0; in partitioned
/// mode a task's on the partition of its source partition, `docs/scaling.md`), written through
/// the runner's producer (so, exactly-once, inside its transaction) as chunk records then a
/// commit record (see ``CheckpointRecords``).
///
/// Reading: from the first retained offset to the high watermark, keeping the newest complete
/// checkpoint; the topic is bounded by compaction on real clusters (two chunk slots and one
/// commit key) and by retention on the embedded broker. Ownership: after each durable save the
/// store remembers the changelog's end; before the next save, if the end moved, the records in
/// between are read and a commit record of another owner covering one of this instance's
/// partitions at a higher epoch fences it (a lower one is an old owner's late write).
public final class KafkaChangelogStore: CheckpointStore {
    public let topic: String
    public let topology: String
    public let group: String
    private let producer: KafkaProducer
    private let producerTopic: ProducerTopic
    private let reader: KafkaConsumer
    /// The reader is this store's (closed with it) or shared by several stores (not closed).
    private let ownsReader: Bool
    /// The changelog partition this store reads and writes.
    public let partition: Int32
    public var maxChunkBytes = CheckpointRecords.defaultMaxChunkBytes
    /// The changelog's end after this instance's last load or durable save.
    private var knownEnd: Int64?

    /// - Parameter reader: a consumer from ``makeReader(topology:client:)`` shared by several
    ///   stores driven from one thread (nil: the store makes its own).
    public init(topology: String, group: String, producer: KafkaProducer, client: KafkaConfiguration, topic: String? = nil,
                partition: Int32 = 0, reader: KafkaConsumer? = nil) throws {
        self.topology = topology
        self.group = group
        self.topic = topic ?? Self.topicName(topology)
        self.partition = partition
        self.producer = producer
        producerTopic = try producer.topic(self.topic)
        ownsReader = reader == nil
        self.reader = try reader ?? Self.makeReader(topology: topology, client: client)
    }

    /// A consumer that reads changelogs by assignment (it never joins its group).
    public static func makeReader(topology: String, client: KafkaConfiguration) throws -> KafkaConsumer {
        try KafkaConsumer(configuration: ConsumerConfiguration(
            client: client, groupID: "weir-\(topology)-changelog-reader", offsetReset: .earliest, isolation: .readCommitted,
            reportEndOfPartition: false))
    }

    deinit { if ownsReader { reader.close() } }

    public static func topicName(_ topology: String) -> String { topology + ".changelog" }

    public var location: String { partition == 0 ? "topic \(topic)" : "topic \(topic) partition \(partition)" }

    private var tp: TopicPartition { TopicPartition(topic: topic, partition: partition) }

    private func end() throws -> (low: Int64, high: Int64)? {
        do {
            return try reader.watermarks(tp, timeout: .seconds(10))
        } catch {
            if Self.isUnknownTopic(error) { return nil }
            throw error
        }
    }

    static func isUnknownTopic(_ e: KafkaError) -> Bool {
        guard case .broker(let code, _, _, _, _) = e else { return false }
        return code == .unknownTopicOrPartition || code == .unknownTopic || code == .unknownPartition
    }

    /// Reads [from, to) of the changelog, feeding values to `body`.
    private func read(from: Int64, to: Int64, _ body: ([UInt8]) throws -> Void) throws {
        guard to > from else { return }
        try reader.assign([TopicPartitionOffset(topic: topic, partition: partition, offset: from)])
        defer { try? reader.assign([]) }
        var next = from
        var failure: (any Error)?
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(60)
        while next < to && failure == nil {
            guard clock.now < deadline else { throw CheckpointError.io("reading \(topic) timed out at offset \(next) of \(to)") }
            try reader.poll(timeout: .milliseconds(200)) { m in
                guard failure == nil, m.offset >= next else { return }
                next = m.offset + 1
                guard let v = m.value else { return }
                do { try body(Array(v)) } catch { failure = error }
            }
        }
        if let failure { throw failure }
    }

    /// Reads the retained changelog into an assembler (nil: no topic).
    private func assemble() throws -> CheckpointAssembler? {
        guard let marks = try end() else { knownEnd = 0; return nil }
        let (low, high) = marks
        var assembler = CheckpointAssembler(topology: topology, group: group)
        try read(from: max(0, low), to: high) { try assembler.add($0) }
        knownEnd = high
        return assembler
    }

    public func loadChain() throws -> [Checkpoint] {
        try assemble()?.chain(location: location) ?? []
    }

    public func load() throws -> Checkpoint? {
        guard let assembler = try assemble() else { return nil }
        if let latest = assembler.latest { return latest }
        if let incomplete = assembler.lastIncomplete { throw incomplete }
        return nil
    }

    public func save(_ c: Checkpoint) throws {
        for r in CheckpointRecords.encode(c, maxChunkBytes: maxChunkBytes) {
            // The commit record also names its transaction in headers, for tools that do not parse it.
            let headers = r.key.hasPrefix("commit")
                ? [KafkaHeader(name: "weir.owner", string: c.owner), KafkaHeader(name: "weir.epoch", string: String(c.epoch)),
                   KafkaHeader(name: "weir.records", string: String(c.outputRecords))]
                : []
            try producer.send(to: producerTopic, partition: partition, key: Array(r.key.utf8), value: r.value, headers: headers)
        }
    }

    public func saved(_ c: Checkpoint) throws {
        knownEnd = try end()?.high
    }

    public func checkOwnership(owner: String, epoch: UInt64, partitions: Set<Int32>) throws {
        guard let known = knownEnd, let high = try end()?.high, high > known else { return }
        var newer: Checkpoint?
        try read(from: known, to: high) { v in
            guard CheckpointRecords.isCommit(v) else { return }
            let c = try CheckpointRecords.decodeCommit(v).checkpoint
            // Only a checkpoint covering a partition this instance still processes fences it
            // (after a rebalance the other members checkpoint their own partitions), and only one
            // ahead of this instance's epoch: an owner continues from the epoch it restored, so a
            // lower or equal epoch is an old owner's write delivered late (its producer resumed
            // after a pause with the records still queued), not a newer owner.
            if c.topology == topology && c.group == group && c.owner != owner && c.epoch > epoch
                && c.offsets.contains(where: { partitions.contains($0.partition) }) { newer = c }
        }
        if let newer {
            throw CheckpointError.fenced(topology: topology, ownEpoch: epoch, newerOwner: newer.owner, newerEpoch: newer.epoch)
        }
        knownEnd = high
    }
}
