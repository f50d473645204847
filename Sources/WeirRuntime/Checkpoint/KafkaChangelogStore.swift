import WeirKafka

/// Checkpoints in a Kafka changelog topic (`<topology>.changelog`, partition 0; in partitioned
/// mode a task's on the partition of its source partition, `docs/scaling.md`), written through
/// the runner's producer (so, exactly-once, inside its transaction) as chunk records then a
/// commit record (see ``CheckpointRecords``).
///
/// Reading: from the start of the newest chain to the high watermark, keeping the newest complete
/// checkpoint. Each commit record carries, in its `weir.chain.start` header, an offset at or
/// before the first record of its chain's full image (the changelog's end read before that image
/// was written: every record written after a read of the end lands at or past it). A restore
/// first reads the changelog's last records (8, then 4 times more while none is a commit record
/// of this topology and group) for the newest commit record, then its chain from that offset:
/// what it reads is the chain (and any checkpoint written after it), however long the
/// changelog's history (increments have keys of their own, so compaction keeps them all; the
/// uncapped benchmark broker keeps everything). It reads from the first retained offset, as
/// before, when that commit record has no header (written before 2026-12-08) or when the chain
/// read that way cannot be restored (a damaged newest checkpoint: the older ones are then
/// needed). Ownership: after each durable save the
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
    /// Where the chain of the next increment written begins: an offset at or before its full
    /// image's first record (nil: unknown, e.g. a restored chain written before the header).
    private var chainStart: Int64?
    /// The key slot (0 or 1) of the newest full image written or restored; the next full image
    /// takes the other (``CheckpointRecords``; nil: unknown, the epoch's parity).
    private var imageSlot: UInt64?
    /// The increments (epoch, chunk count) of the newest chain (written or restored), and those
    /// of the chain before it, which a newer full image supersedes: once that image is durable
    /// (``saved(_:)``) their records (``incrementKeys(epoch:chunks:)``) are deleted with
    /// tombstones sent before the next checkpoint's records (inside its transaction, exactly
    /// once). Compaction then removes them on a Kafka cluster.
    private var chainIncrements: [(epoch: UInt64, chunks: Int)] = []
    private var superseded: (image: UInt64, increments: [(epoch: UInt64, chunks: Int)])?
    private var tombstones: [(epoch: UInt64, chunks: Int)] = []
    /// What the last load read: offsets `from..<to` of the retained `low..<to`.
    public private(set) var lastRead: (from: Int64, to: Int64, low: Int64)?
    /// The header naming a commit record's chain start (decimal offset).
    static let chainStartHeader = "weir.chain.start"

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

    /// A consumer that reads changelogs by assignment (it never joins its group). It reports the
    /// partition's end (``ChangelogReadProgress``), and has the internal topics' client properties
    /// (``KafkaRunner/internalConsumerClient(_:)``): the broker answers its fetches at the end of
    /// the log after 10 ms (librdkafka: 500), since a read that starts right after another waits
    /// for the fetch still outstanding at the previous read's end (a restore's look-back then its
    /// chain: 0.5 s at 1M keys, RESULTS.md 2026-12-07).
    public static func makeReader(topology: String, client: KafkaConfiguration) throws -> KafkaConsumer {
        try KafkaConsumer(configuration: ConsumerConfiguration(
            client: KafkaRunner.internalConsumerClient(client), groupID: "weir-\(topology)-changelog-reader", offsetReset: .earliest, isolation: .readCommitted,
            reportEndOfPartition: true))
    }

    deinit { if ownsReader { reader.close() } }

    public static func topicName(_ topology: String) -> String { topology + ".changelog" }

    public var lastReadSummary: String? {
        lastRead.map { "offsets \($0.from)..<\($0.to) of the retained \($0.low)..<\($0.to)" }
    }

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
        try readMessages(from: from, to: to) { m in
            guard let v = m.value else { return }
            try body(Array(v))
        }
    }

    /// Reads [from, to) of the changelog, feeding each message (borrowed) to `body`.
    private func readMessages(from: Int64, to: Int64, _ body: (KafkaMessage) throws -> Void) throws {
        guard to > from else { return }
        try reader.assign([TopicPartitionOffset(topic: topic, partition: partition, offset: from)])
        var progress = ChangelogReadProgress(from: from, to: to)
        let tp = self.tp
        reader.onEvent = { if case .endOfPartition(tp, let offset) = $0 { progress.reachedEnd(at: offset) } }
        defer {
            reader.onEvent = nil
            try? reader.assign([])
        }
        var failure: (any Error)?
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(60)
        while !progress.done && failure == nil {
            guard clock.now < deadline else { throw CheckpointError.io("reading \(topic) timed out at offset \(progress.next) of \(to)") }
            try reader.poll(timeout: .milliseconds(200)) { m in
                guard failure == nil, progress.delivered(m.offset) else { return }
                do { try body(m) } catch { failure = error }
            }
        }
        if let failure { throw failure }
    }

    /// A commit record of this topology and group, with the chain start its header names (nil:
    /// another record).
    private func commit(_ m: KafkaMessage) -> (commit: CheckpointRecords.Commit, chainStart: Int64?)? {
        guard let v = m.value, CheckpointRecords.isCommit(v),
              let c = try? CheckpointRecords.decodeCommit(Array(v)), c.checkpoint.topology == topology, c.checkpoint.group == group
        else { return nil }
        return (c, m.header(Self.chainStartHeader).flatMap { Int64(String(decoding: $0, as: UTF8.self)) })
    }

    /// The chain start of the newest commit record of this topology and group in [low, high),
    /// looked for in the last 8 records, then 4 times as many while there is none; nil when the
    /// newest names none or there is none.
    private func newestChainStart(low: Int64, high: Int64) throws -> Int64? {
        var window: Int64 = 8
        while true {
            let from = max(low, high - window)
            var newest: (commit: CheckpointRecords.Commit, chainStart: Int64?)?
            try readMessages(from: from, to: high) { m in newest = commit(m) ?? newest }
            if let newest { return newest.chainStart }
            if from == low { return nil }
            window *= 4
        }
    }

    /// Reads the changelog and resolves what restores from it (nil: no topic): from the newest
    /// chain's start when its commit record names one and what is read from there resolves to a
    /// chain (`chain`: not empty), else every retained record. Remembers the changelog's end and,
    /// of the chain resolved, its start (the base of the next increments), its full image's key
    /// slot and its increments' keys (deleted after the next full image).
    private func restore<T>(_ resolve: (CheckpointAssembler) throws -> T, chain: (T) -> [Checkpoint]) throws -> T? {
        guard let marks = try end() else { knownEnd = 0; return nil }
        let (low, high) = (max(0, marks.low), marks.high)
        var starts: [String: Int64] = [:]  // "owner/epoch" of a commit record → its chain start
        var slots: [String: UInt64] = [:]  // "owner/epoch" of a full image → its key slot
        var chunks: [String: Int] = [:]  // "owner/epoch" of a commit record → its chunk count
        func read(from: Int64) throws -> CheckpointAssembler {
            var assembler = CheckpointAssembler(topology: topology, group: group)
            (starts, slots, chunks) = ([:], [:], [:])
            try readMessages(from: from, to: high) { m in
                guard let v = m.value else { return }
                try assembler.add(Array(v))
                if let (c, start) = commit(m) {
                    let id = "\(c.checkpoint.owner)/\(c.checkpoint.epoch)"
                    chunks[id] = c.chunks
                    if let start { starts[id] = start }
                }
                // A full image's chunk: `state/<slot>/<i>`.
                if let k = m.key, k.starts(with: "state/".utf8), case let parts = String(decoding: k, as: UTF8.self).split(separator: "/"),
                   parts.count == 3, let slot = UInt64(parts[1]), slot <= 1, let (owner, epoch) = CheckpointRecords.chunkIdentity(v) {
                    slots["\(owner)/\(epoch)"] = slot
                }
            }
            lastRead = (from, high, low)
            return assembler
        }
        var result: T?
        var trusted = true  // a chain start that did not lead to a restorable chain is not used again
        if high - low > 8, let start = try newestChainStart(low: low, high: high), start > low {
            if let tail = try? resolve(read(from: min(start, high))), !chain(tail).isEmpty { result = tail } else { trusted = false }
        }
        let resolved = try result ?? resolve(read(from: low))
        knownEnd = high
        let restored = chain(resolved)
        func id(_ c: Checkpoint) -> String { "\(c.owner)/\(c.epoch)" }
        chainStart = trusted ? restored.last.flatMap { starts[id($0)] } : nil
        imageSlot = restored.first.flatMap { $0.base == nil ? slots[id($0)] : nil }
        chainIncrements = restored.filter { $0.base != nil }.map { ($0.epoch, chunks[id($0)] ?? 0) }
        (superseded, tombstones) = (nil, [])
        return resolved
    }

    public func loadChain() throws -> [Checkpoint] {
        try restore({ try $0.chain(location: location) }, chain: { $0 }) ?? []
    }

    public func load() throws -> Checkpoint? {
        try restore({ a throws -> Checkpoint? in
            if let latest = a.latest { return latest }
            if let incomplete = a.lastIncomplete { throw incomplete }
            return nil
        }, chain: { $0.map { [$0] } ?? [] }) ?? nil
    }

    /// The keys of an increment's records (``CheckpointRecords``).
    static func incrementKeys(epoch: UInt64, chunks: Int) -> [String] {
        (0..<chunks).map { CheckpointRecords.incrementChunkKey(epoch: epoch, $0) } + [CheckpointRecords.incrementCommitKey(epoch: epoch)]
    }

    public func save(_ c: Checkpoint) throws {
        // Increments of a superseded chain, deleted now that the image after them is durable.
        for key in tombstones.flatMap({ Self.incrementKeys(epoch: $0.epoch, chunks: $0.chunks) }) {
            try producer.send(to: producerTopic, partition: partition, key: Array(key.utf8), value: nil)
        }
        tombstones = []
        // A full image starts a chain at the end read last (its records land at or past it).
        var slot: UInt64?
        if c.base == nil {
            chainStart = knownEnd
            slot = imageSlot.map { 1 - $0 } ?? c.epoch % 2
            imageSlot = slot
            superseded = (c.epoch, chainIncrements)
            chainIncrements = []
        }
        let records = CheckpointRecords.encode(c, maxChunkBytes: maxChunkBytes, imageSlot: slot)
        if c.base != nil { chainIncrements.append((c.epoch, records.count - 1)) }  // its chunks, then its commit record
        for r in records {
            // The commit record also names its transaction in headers, for tools that do not parse
            // it, and where its chain starts (for the next restore).
            let headers = r.key.hasPrefix("commit")
                ? [KafkaHeader(name: "weir.owner", string: c.owner), KafkaHeader(name: "weir.epoch", string: String(c.epoch)),
                   KafkaHeader(name: "weir.records", string: String(c.outputRecords))]
                    + (chainStart.map { [KafkaHeader(name: Self.chainStartHeader, string: String($0))] } ?? [])
                : []
            try producer.send(to: producerTopic, partition: partition, key: Array(r.key.utf8), value: r.value, headers: headers)
        }
    }

    public func saved(_ c: Checkpoint) throws {
        knownEnd = try end()?.high
        if let s = superseded, c.base == nil, s.image == c.epoch {
            tombstones += s.increments
            superseded = nil
        }
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

/// How far a read of changelog offsets `[from, to)` got. It is done once a record at or past
/// `to - 1` was delivered, or the partition's end was reported at or past `to`: every offset
/// before it was delivered or is one the consumer never delivers, a transaction's commit or abort
/// marker (exactly once on a Kafka cluster; the embedded broker writes none, so there the
/// records alone end a read). An end reported for an earlier assignment of the partition (the
/// restore's look-back) cannot end a later read: librdkafka drops events of an older fetch
/// version and reports the end again for the new one. Without the second rule a restore on a
/// cluster would wait for a record after the last commit marker until it timed out (60 s) and
/// refuse to start (from librdkafka's behaviour; no cluster runs here to see it).
struct ChangelogReadProgress: Sendable, Equatable {
    /// The next offset wanted.
    private(set) var next: Int64
    let to: Int64
    private var ended = false

    init(from: Int64, to: Int64) {
        next = from
        self.to = to
    }

    var done: Bool { ended || next >= to }

    /// A record at `offset` arrived; false when it is before `next` (already delivered) or past the read.
    mutating func delivered(_ offset: Int64) -> Bool {
        guard offset >= next, offset < to else { return false }
        next = offset + 1
        return true
    }

    /// The consumer reached the partition's end at `offset` (the next offset it would fetch).
    mutating func reachedEnd(at offset: Int64) {
        if offset >= to { ended = true }
    }
}
