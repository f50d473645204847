import Foundation
import WeirKafka

/// One output record as the independent consumer saw it.
struct OutputSample {
    /// Monotonic ns when `poll` handed it to us.
    var arrivalNs: Int64
    /// The input record it follows from (the score record's `partition` and `offset` fields).
    var partition: Int32
    var offset: Int64
    /// The output message's Kafka timestamp (CreateTime: set by weir's producer at `send`).
    var createMs: Int64
    /// `weir.epoch` header (the checkpoint epoch covering it), -1 without checkpoints.
    var epoch: Int64
}

/// A checkpoint commit record seen in `<topology>.changelog` (key `commit`).
struct CommitSample {
    var arrivalNs: Int64
    /// Its Kafka timestamp: CreateTime, set when weir produced it (wall-clock ms).
    var createMs: Int64
    var owner: String
    var epoch: Int64
    var records: Int64
}

/// The independent consumer: assigns every partition of the output topic (and partition 0 of
/// the changelog, when checkpoints are on) from the beginning once they exist, and records
/// each output's arrival time and the input it names. `read_uncommitted`: the mock broker writes
/// no transaction markers anyway; exactly-once visibility is derived from the commit records.
final class OutputReader: @unchecked Sendable {
    private(set) var samples: [OutputSample] = []
    private(set) var commits: [CommitSample] = []
    private(set) var unparsed = 0
    private(set) var failure: String?
    private let lock = NSLock()
    private var _count = 0
    private var _maxEpoch: Int64 = -1
    private var _maxCommitted: Int64 = -1

    /// Outputs read so far, the highest `weir.epoch` among them, the highest committed epoch.
    var progress: (count: Int, maxEpoch: Int64, maxCommitted: Int64) { lock.withLock { (_count, _maxEpoch, _maxCommitted) } }

    init(capacity: Int) { samples.reserveCapacity(capacity) }

    func run(bootstrap: String, outputTopic: String, fetchWaitMs: Int, changelogTopic: String?, shared: Shared) {
        do { try read(bootstrap: bootstrap, outputTopic: outputTopic, fetchWaitMs: fetchWaitMs, changelogTopic: changelogTopic, shared: shared) } catch {
            failure = "\(error)"
        }
    }

    private func read(bootstrap: String, outputTopic: String, fetchWaitMs: Int, changelogTopic: String?, shared: Shared) throws {
        let admin = try KafkaAdmin(configuration: KafkaConfiguration(bootstrapServers: bootstrap))
        let consumer = try KafkaConsumer(configuration: ConsumerConfiguration(
            client: KafkaConfiguration(bootstrapServers: bootstrap, properties: ["fetch.wait.max.ms": "\(fetchWaitMs)"]),
            groupID: "latencybench-reader-\(getpid())", offsetReset: .earliest, isolation: .readUncommitted))
        defer { consumer.close() }
        var assignedOutput = false, assignedChangelog = changelogTopic == nil
        var assignment: [TopicPartitionOffset] = []
        var lastLook: Int64 = 0
        let outputIndexName = outputTopic
        while !shared.stop {
            // The topics are auto-created by weir's first records: look for them until both are there.
            if !(assignedOutput && assignedChangelog), monoNs() - lastLook > 100_000_000 {
                lastLook = monoNs()
                let topics = try admin.listTopics(timeout: .seconds(2))
                var changed = false
                if !assignedOutput, let t = topics.first(where: { $0.name == outputTopic }), !t.partitions.isEmpty {
                    assignment += t.partitions.map { TopicPartitionOffset(topic: outputTopic, partition: $0.id, offset: TopicPartitionOffset.beginning) }
                    assignedOutput = true
                    changed = true
                }
                if !assignedChangelog, let name = changelogTopic, topics.contains(where: { $0.name == name }) {
                    assignment.append(TopicPartitionOffset(topic: name, partition: 0, offset: TopicPartitionOffset.beginning))
                    assignedChangelog = true
                    changed = true
                }
                if changed { try consumer.assign(assignment) }
            }
            if assignment.isEmpty {
                usleep(20_000)
                continue
            }
            var got = 0
            try consumer.poll(timeout: .milliseconds(20)) { m in
                let now = monoNs()
                if m.topic == outputIndexName {
                    guard let v = m.value, let (p, o) = Self.sourcePosition(v) else {
                        unparsed += 1
                        return
                    }
                    let epoch = m.header("weir.epoch").flatMap(Self.integer) ?? -1
                    samples.append(OutputSample(arrivalNs: now, partition: p, offset: o, createMs: m.timestamp ?? -1, epoch: epoch))
                    got += 1
                } else if let k = m.key, k.elementsEqual("commit".utf8) {
                    let owner = m.header("weir.owner").map { String(decoding: $0, as: UTF8.self) } ?? "?"
                    let epoch = m.header("weir.epoch").flatMap(Self.integer) ?? -1
                    let records = m.header("weir.records").flatMap(Self.integer) ?? -1
                    commits.append(CommitSample(arrivalNs: now, createMs: m.timestamp ?? -1, owner: owner, epoch: epoch, records: records))
                }
            }
            if got > 0 || !commits.isEmpty {
                let maxEpoch = samples.last?.epoch ?? -1
                let committed = commits.last?.epoch ?? -1
                lock.withLock {
                    _count = samples.count
                    _maxEpoch = max(_maxEpoch, maxEpoch)
                    _maxCommitted = max(_maxCommitted, committed)
                }
                if got > 0 && !shared.firstOutput { shared.firstOutput = true }
            }
        }
    }

    /// `"partition":P` and `"offset":O` of a score record (fields of `docs/records.md`).
    static func sourcePosition(_ v: UnsafeRawBufferPointer) -> (Int32, Int64)? {
        guard let p = field(v, "\"partition\":"), let o = field(v, "\"offset\":") else { return nil }
        return (Int32(truncatingIfNeeded: p), o)
    }

    /// The non-negative integer after the last occurrence of `tag` in `v`.
    static func field(_ v: UnsafeRawBufferPointer, _ tag: StaticString) -> Int64? {
        let t = UnsafeRawBufferPointer(start: tag.utf8Start, count: tag.utf8CodeUnitCount)
        var i = v.count - t.count
        while i >= 0 {
            if v[i] == t[0] && v[i + t.count - 1] == t[t.count - 1] && memcmp(v.baseAddress! + i, t.baseAddress!, t.count) == 0 {
                return integer(UnsafeRawBufferPointer(rebasing: v[(i + t.count)...]))
            }
            i -= 1
        }
        return nil
    }

    /// Leading decimal digits of `b` (nil when there are none).
    static func integer(_ b: UnsafeRawBufferPointer) -> Int64? {
        var x: Int64 = 0, n = 0
        for c in b {
            guard c >= 0x30 && c <= 0x39 else { break }
            x = x &* 10 &+ Int64(c - 0x30)
            n += 1
        }
        return n > 0 ? x : nil
    }
}
