import Foundation
import Testing
import WeirKafka
@testable import WeirRuntime

/// What a restore reads of `<name>.changelog` (``KafkaChangelogStore``): the newest chain, from
/// the offset its commit record's `weir.chain.start` header names, not every checkpoint the
/// partition retains (increments have keys of their own, so compaction keeps them all; the
/// uncapped benchmark broker keeps everything). The chains restored are the checkpoints written;
/// a header missing (older writers) or naming a chain that cannot be restored from there falls
/// back to reading from the first retained offset, as before.
struct ChangelogRestoreReadTests {
    static func checkpoint(_ epoch: UInt64, base: UInt64?, owner: String = "a") -> Checkpoint {
        Checkpoint(topology: "t", group: "g", epoch: epoch, owner: owner, sourceTopic: "in",
                   offsets: [.init(partition: 0, offset: Int64(100 * epoch))], outputRecords: epoch, wallTimeMs: 0,
                   state: (0..<700).map { UInt8(truncatingIfNeeded: Int(epoch) &* 31 &+ $0 / 3) }, base: base)
    }

    struct Log {
        let broker: EmbeddedBroker
        let client: KafkaConfiguration
        let producer: KafkaProducer

        init() throws {
            broker = try EmbeddedBroker()
            try broker.createTopic("t.changelog", partitions: 1)
            client = KafkaConfiguration(bootstrapServers: broker.bootstrapServers, clientID: "restore-read")
            producer = try KafkaProducer(configuration: ProducerConfiguration(client: client))
        }

        /// A store writing chunks of 100 bytes (8 records a checkpoint).
        func store() throws -> KafkaChangelogStore {
            let s = try KafkaChangelogStore(topology: "t", group: "g", producer: producer, client: client)
            s.maxChunkBytes = 100
            return s
        }

        func write(_ s: KafkaChangelogStore, _ cs: [Checkpoint]) throws {
            for c in cs {
                try s.save(c)
                try producer.flush(timeout: .seconds(10))
                try s.saved(c)
            }
        }

        /// The changelog's high watermark.
        var end: Int64 {
            get throws {
                let r = try KafkaChangelogStore.makeReader(topology: "t", client: client)
                defer { r.close() }
                return try r.watermarks(TopicPartition(topic: "t.changelog", partition: 0), timeout: .seconds(10)).high
            }
        }

        /// Every record of the changelog, key and value (a tombstone's: empty), in offset order.
        func records() throws -> [(key: String, value: [UInt8])] {
            try recordsAndTombstones().map { ($0.key, $0.value ?? []) }
        }

        /// Every record of the changelog, key and value (nil: a tombstone), in offset order.
        func recordsAndTombstones() throws -> [(key: String, value: [UInt8]?)] {
            let r = try KafkaChangelogStore.makeReader(topology: "t", client: client)
            defer { r.close() }
            let high = try end
            try r.assign([TopicPartitionOffset(topic: "t.changelog", partition: 0, offset: 0)])
            var out: [(key: String, value: [UInt8]?)] = []
            let deadline = Date().addingTimeInterval(30)
            while out.count < high && Date() < deadline {
                _ = try r.poll(timeout: .milliseconds(100)) { m in
                    out.append((m.key.map { String(decoding: $0, as: UTF8.self) } ?? "", m.value.map { Array($0) }))
                }
            }
            return out
        }

        /// Records sent as they are (`headers` on the commit record), as another writer would.
        func send(_ records: [CheckpointRecords.Record], headers: [KafkaHeader] = []) throws {
            let topic = try producer.topic("t.changelog")
            for r in records {
                try producer.send(to: topic, partition: 0, key: Array(r.key.utf8), value: r.value, headers: r.key.hasPrefix("commit") ? headers : [])
            }
            try producer.flush(timeout: .seconds(10))
        }
    }

    @Test func aRestoreReadsTheNewestChainFromItsStartAndIncrementsAfterARestoreKeepIt() throws {
        let log = try Log()
        let writer = try log.store()
        #expect(try writer.loadChain().isEmpty)
        try log.write(writer, [Self.checkpoint(1, base: nil), Self.checkpoint(2, base: 1), Self.checkpoint(3, base: 2)])
        let secondChain = try log.end
        let chain = [Self.checkpoint(4, base: nil), Self.checkpoint(5, base: 4), Self.checkpoint(6, base: 5)]
        try log.write(writer, chain)
        let high = try log.end
        #expect(secondChain == 24 && high == 64, "8 records a checkpoint; before epoch 5's, tombstones for the 16 of epochs 2 and 3")

        let reader = try log.store()
        #expect(try reader.loadChain() == chain)
        #expect(reader.lastRead.map { [$0.from, $0.to, $0.low] } == [secondChain, high, 0], "read \(String(describing: reader.lastRead))")
        #expect(try log.store().load() == chain.last)

        // The reader restored the chain and writes on it: its increment names the same start.
        let seven = Self.checkpoint(7, base: 6, owner: "b")
        try log.write(reader, [seven])
        let again = try log.store()
        #expect(try again.loadChain() == chain + [seven])
        #expect(again.lastRead!.from == secondChain)
    }

    /// The newest commit record lies behind more than the first 8 records looked at (a
    /// checkpoint's chunks without their commit record: a crash while writing it): the look-back
    /// widens, and the restore still reads from the newest complete chain's start.
    @Test func chunksOfACheckpointCutShortWidenTheLookBack() throws {
        let log = try Log()
        let writer = try log.store()
        _ = try writer.loadChain()
        try log.write(writer, [Self.checkpoint(1, base: nil), Self.checkpoint(2, base: 1)])
        let start = try log.end
        try log.write(writer, [Self.checkpoint(3, base: nil), Self.checkpoint(4, base: 3)])
        var cut = CheckpointRecords.encode(Self.checkpoint(5, base: 4), maxChunkBytes: 50)
        cut.removeLast()  // 14 chunks, no commit record
        try log.send(cut)
        let reader = try log.store()
        #expect(try reader.loadChain() == [Self.checkpoint(3, base: nil), Self.checkpoint(4, base: 3)])
        #expect(reader.lastRead!.from == start)
    }

    /// A commit record without the header (written before it existed) or one whose chain cannot
    /// be restored from the offset it names (here it names one past its base): the whole retained
    /// changelog is read, and the chain restored as before.
    @Test func noHeaderOrAChainThatDoesNotRestoreFromItsStartReadsEverything() throws {
        let log = try Log()
        let c1 = Self.checkpoint(1, base: nil), c2 = Self.checkpoint(2, base: 1), c3 = Self.checkpoint(3, base: 2)
        try log.send(CheckpointRecords.encode(c1, maxChunkBytes: 100) + CheckpointRecords.encode(c2, maxChunkBytes: 100))
        let old = try log.store()
        #expect(try old.loadChain() == [c1, c2])
        #expect(old.lastRead!.from == 0)

        let pastBase = try log.end
        try log.send(CheckpointRecords.encode(c3, maxChunkBytes: 100), headers: [KafkaHeader(name: "weir.chain.start", string: String(pastBase))])
        let reader = try log.store()
        #expect(try reader.loadChain() == [c1, c2, c3])
        #expect(reader.lastRead!.from == 0)
        // ... and a chain start that did not lead to a restorable chain is not used again: the
        // next increment names none, the next full image its own.
        try log.write(reader, [Self.checkpoint(4, base: 3)])
        let next = try log.store()
        #expect(try next.loadChain().map(\.epoch) == [1, 2, 3, 4])
        #expect(next.lastRead!.from == 0)
        let image = try log.end
        try log.write(next, [Self.checkpoint(5, base: nil), Self.checkpoint(6, base: 5)])
        let last = try log.store()
        #expect(try last.loadChain().map(\.epoch) == [5, 6])
        #expect(last.lastRead!.from == image)
    }

    /// What Kafka's log compaction leaves of `records`: the last record of each key, in offset
    /// order (the embedded broker does not compact; this is the cleaner's rule applied to what
    /// was written).
    static func compacted(_ records: [(key: String, value: [UInt8])]) -> [[UInt8]] {
        compacted(records.map { ($0.key, Optional($0.value)) })
    }

    /// The same with tombstones (nil values): a key whose last record is one is removed.
    static func compacted(_ records: [(key: String, value: [UInt8]?)]) -> [[UInt8]] {
        var last: [String: Int] = [:]
        for (i, r) in records.enumerated() { last[r.key] = i }
        return records.indices.filter { last[records[$0].key] == $0 }.compactMap { records[$0].value }
    }

    /// Full images take the other key slot than the newest image before them, even when their
    /// epochs have the same parity (increments between), also after a restore. So when a full
    /// image is cut short by a crash and the changelog is then compacted, the newest complete
    /// image keeps its chunks: here images 1, 3 and 5 (all odd) would all have been slot 1, and
    /// compaction would have left image 3 without the chunks that image 5 overwrote.
    @Test func fullImagesAlternateKeySlotsSoCompactionKeepsTheNewestImage() throws {
        let log = try Log()
        let writer = try log.store()
        _ = try writer.loadChain()
        let c1 = Self.checkpoint(1, base: nil), c2 = Self.checkpoint(2, base: 1), c3 = Self.checkpoint(3, base: nil),
            c4 = Self.checkpoint(4, base: 3), c5 = Self.checkpoint(5, base: nil)
        try log.write(writer, [c1, c2, c3, c4, c5])
        let written = try log.recordsAndTombstones()
        /// The full image's chunk epoch of a record (nil: another record).
        func imageEpoch(_ r: (key: String, value: [UInt8]?)) -> UInt64? {
            guard r.key.hasPrefix("state/"), let v = r.value else { return nil }
            return v.withUnsafeBytes { CheckpointRecords.chunkIdentity($0)?.epoch }
        }
        func slots(of epoch: UInt64) -> Set<String> {
            Set(written.filter { imageEpoch($0) == epoch }.map { String($0.key.split(separator: "/")[1]) })
        }
        #expect(slots(of: 1) == ["1"] && slots(of: 3) == ["0"] && slots(of: 5) == ["1"])
        // Image 5 cut short after 3 of its chunks, then compaction: image 3 and its increment restore.
        let fifth = try #require(written.firstIndex { imageEpoch($0) == 5 })
        var assembler = CheckpointAssembler(topology: "t", group: "g")
        for v in Self.compacted(Array(written[..<(fifth + 3)])) { try assembler.add(v) }
        #expect(try assembler.chain(location: "compacted") == [c3, c4])
        // Without compaction every image is there; a restore of image 5 hands the other slot on.
        let reader = try log.store()
        #expect(try reader.loadChain() == [c5])
        try log.write(reader, [Self.checkpoint(6, base: 5), Self.checkpoint(7, base: nil)])
        let after = try log.records()
        #expect(after.filter { $0.key.hasPrefix("state/") }.suffix(1).map { String($0.key.split(separator: "/")[1]) } == ["0"])
    }

    /// A read of `[10, 15)` whose offset 14 is a transaction's commit marker (exactly once on a
    /// Kafka cluster: the consumer never delivers it) ends when the partition's end is reported
    /// at 15, not at an end reported before it; records before `next` or past the read are not
    /// delivered again. (The embedded broker writes no markers: this is the rule, without I/O.)
    @Test func aReadEndsAtThePartitionsEndPastACommitMarker() {
        var p = ChangelogReadProgress(from: 10, to: 15)
        let first = (Int64(10)...13).map { p.delivered($0) }
        let again = p.delivered(12)
        #expect(first == [true, true, true, true] && !again && !p.done && p.next == 14)
        p.reachedEnd(at: 14)
        #expect(!p.done, "an end fetched before the marker was written")
        p.reachedEnd(at: 15)
        #expect(p.done)
        var q = ChangelogReadProgress(from: 0, to: 3)
        let delivered = [q.delivered(0), q.delivered(2), q.delivered(3)]
        #expect(delivered == [true, true, false] && q.done, "records alone end it; one past the read is not delivered")
    }

    /// Once a full image is durable, the increments of the chain before it are deleted: tombstones
    /// for their keys go out with the next checkpoint's records. Compacted (the cleaner's rule,
    /// tombstones removing their keys), the changelog then holds the newest chain and no
    /// superseded increment, and restores as before; uncompacted (the embedded broker), restores
    /// skip the tombstones. A restored chain's increments are deleted the same way after the next image.
    @Test func incrementsOfASupersededChainAreDeletedOnceTheNextImageIsDurable() throws {
        let log = try Log()
        let writer = try log.store()
        _ = try writer.loadChain()
        let c1 = Self.checkpoint(1, base: nil), c2 = Self.checkpoint(2, base: 1), c3 = Self.checkpoint(3, base: 2),
            c4 = Self.checkpoint(4, base: nil), c5 = Self.checkpoint(5, base: 4)
        try log.write(writer, [c1, c2, c3, c4])
        #expect(try log.recordsAndTombstones().allSatisfy { $0.value != nil }, "nothing deleted before the next checkpoint")
        try log.write(writer, [c5])
        let written = try log.recordsAndTombstones()
        let increments = written.filter { $0.key.hasPrefix("inc/2/") || $0.key.hasPrefix("inc/3/") || $0.key == "commit/inc/2" || $0.key == "commit/inc/3" }
        let deleted = written.filter { $0.value == nil }.map(\.key)
        #expect(Set(deleted) == Set(increments.filter { $0.value != nil }.map(\.key)) && deleted.count == 16, "\(deleted)")
        // the tombstones precede epoch 5's records
        #expect(written.lastIndex { $0.value == nil }! < written.firstIndex { $0.key.hasPrefix("inc/5/") }!)
        var compacted = CheckpointAssembler(topology: "t", group: "g")
        let survivors = Self.compacted(written)
        for v in survivors { try compacted.add(v) }
        #expect(try compacted.chain(location: "compacted") == [c4, c5])
        #expect(survivors.count == written.filter { $0.value != nil }.count - 16 - 1,
                "the 16 deleted, and image 1's commit record replaced by image 4's (its chunks, in the other slot, stay until the next image)")
        // Uncompacted: restores skip the tombstones; a restored chain's increments go after the next image.
        let reader = try log.store()
        #expect(try reader.loadChain() == [c4, c5])
        try log.write(reader, [Self.checkpoint(6, base: nil), Self.checkpoint(7, base: 6)])
        let after = try log.recordsAndTombstones()
        #expect(Set(after.filter { $0.value == nil }.map(\.key)).isSuperset(of: ["commit/inc/5", "inc/5/0"]))
    }
}
