import Testing
import WeirCore
import WeirTestSupport
@testable import WeirRuntime

/// `weir run` with a label topic merges the source and label topics by message timestamp
/// (``TimestampMerge``): whatever order librdkafka reads them in, the pipeline sees the order
/// they were produced in.
@Suite struct TimestampMergeTests {
    struct Item: Equatable, CustomStringConvertible {
        var label: Bool
        var partition: Int32
        var offset: Int64
        var timestamp: Int64
        var description: String { "\(label ? "L" : "E")\(partition)/\(offset)@\(timestamp)" }
    }

    /// Events on two source partitions and labels on two label partitions, each partition's
    /// timestamps increasing (as produced); ties between an event and a label on purpose.
    static func stream(seed: UInt64) -> (events: [[Item]], labels: [[Item]]) {
        var rng = SeededGenerator(seed: seed)
        var events: [[Item]] = [[], []], labels: [[Item]] = [[], []]
        var t: [Int64] = [1_000, 1_000, 1_000, 1_000]
        for _ in 0..<300 {
            let k = Int.random(in: 0..<4, using: &rng)
            t[k] += Int64.random(in: 0...7, using: &rng)
            if k < 2 {
                events[k].append(Item(label: false, partition: Int32(k), offset: Int64(events[k].count), timestamp: t[k]))
            } else {
                labels[k - 2].append(Item(label: true, partition: Int32(k - 2), offset: Int64(labels[k - 2].count), timestamp: t[k]))
            }
        }
        return (events, labels)
    }

    /// Reads the partitions in a random interleaving (each in offset order), asking the merge for
    /// work after every read; then reports every partition's end and drains. Returns the order
    /// the pipeline would have seen.
    static func run(_ s: (events: [[Item]], labels: [[Item]]), readOrderSeed: UInt64) -> [Item] {
        var rng = SeededGenerator(seed: readOrderSeed)
        var merge = TimestampMerge(labelTopic: "labels", capacity: 10_000, maxHoldMs: 1_000_000)
        merge.labelAssigned = [0, 1]
        let sourceAssigned: Set<Int32> = [0, 1]
        var cursors = [0, 0, 0, 0]
        var out: [Item] = []
        var batch = InputBatch(capacity: 16)
        var byKey: [String: Item] = [:]
        for p in 0..<2 { for i in s.events[p] + s.labels[p] { byKey["\(i.label)/\(i.partition)/\(i.offset)"] = i } }
        func drain() {
            while let step = merge.next(sourceAssigned: sourceAssigned, nowMs: 0, into: &batch) {
                switch step {
                case .events:
                    for j in 0..<batch.count { out.append(byKey["false/\(batch.partitions[j])/\(batch.offsets[j])"]!) }
                    batch.removeAll()
                case .labels:
                    let b = merge.labelBatch
                    for j in 0..<b.count { out.append(byKey["true/\(b.partitions[j])/\(b.offsets[j])"]!) }
                    merge.labelsApplied()
                }
            }
        }
        let lists = s.events + s.labels
        while cursors.enumerated().contains(where: { $0.element < lists[$0.offset].count }) {
            let open = (0..<4).filter { cursors[$0] < lists[$0].count }
            let k = open[Int.random(in: 0..<open.count, using: &rng)]
            // A fetch delivers a run of one partition.
            for _ in 0..<Int.random(in: 1...40, using: &rng) where cursors[k] < lists[k].count {
                let item = lists[k][cursors[k]]
                cursors[k] += 1
                let bytes: [UInt8] = Array("x".utf8)
                bytes.withUnsafeBytes { v in
                    if item.label {
                        merge.readLabel(v, partition: item.partition, offset: item.offset, timestamp: item.timestamp, nowMs: 0)
                    } else {
                        merge.readEvent(v, partition: item.partition, offset: item.offset, timestamp: item.timestamp, nowMs: 0)
                    }
                }
            }
            drain()
        }
        for p: Int32 in [0, 1] {
            merge.sourceClock.reachedEnd(partition: p, offset: Int64(s.events[Int(p)].count))
            merge.labelClock.reachedEnd(partition: p, offset: Int64(s.labels[Int(p)].count))
            merge.sourceClock.confirmEnd(partition: p, high: Int64(s.events[Int(p)].count), at: 0)
            merge.labelClock.confirmEnd(partition: p, high: Int64(s.labels[Int(p)].count), at: 0)
        }
        drain()
        #expect(merge.heldEvents == 0 && merge.heldLabels == 0)
        #expect(merge.forced == 0)
        return out
    }

    /// Every read interleaving gives the same order; in it each label comes after every event
    /// stamped at or before it, and each event after every label stamped before it; each
    /// partition keeps its offset order.
    @Test func everyReadOrderGivesTheTimestampOrder() {
        let s = Self.stream(seed: 11)
        let first = Self.run(s, readOrderSeed: 1)
        #expect(first.count == 300)
        for seed in 2...30 {
            let again = Self.run(s, readOrderSeed: UInt64(seed))
            #expect(again == first, "read order \(seed) differs")
            if again != first { break }
        }
        // The brute-force oracle: every (event, label) pair is in timestamp order (events first on ties).
        var seenEvents: [Item] = [], seenLabels: [Item] = []
        for item in first {
            if item.label {
                #expect(seenEvents.allSatisfy { $0.timestamp <= item.timestamp })
                seenLabels.append(item)
            } else {
                #expect(seenLabels.allSatisfy { $0.timestamp < item.timestamp })
                seenEvents.append(item)
            }
        }
        for p: Int32 in [0, 1] {
            #expect(first.filter { !$0.label && $0.partition == p }.map(\.offset) == s.events[Int(p)].map(\.offset))
            #expect(first.filter { $0.label && $0.partition == p }.map(\.offset) == s.labels[Int(p)].map(\.offset))
        }
    }

    /// A label waits while a source partition has read nothing past it and is not at its end; the
    /// wait is bounded by the hold's capacity and age (counted as forced).
    @Test func holdsAreBoundedByCountAndAge() {
        var merge = TimestampMerge(labelTopic: "labels", capacity: 3, maxHoldMs: 100)
        merge.labelAssigned = [0]
        var batch = InputBatch(capacity: 8)
        let one: [UInt8] = [0x31]
        one.withUnsafeBytes { v in
            merge.readEvent(v, partition: 0, offset: 0, timestamp: 10, nowMs: 0)
            for i in 0..<5 { merge.readLabel(v, partition: 0, offset: Int64(i), timestamp: 20 + Int64(i), nowMs: Int64(i)) }
        }
        // The event (ts 10) goes; the labels (ts 20...) wait for the source to be read past them,
        // except the two beyond the capacity of 3.
        #expect(merge.next(sourceAssigned: [0], nowMs: 10, into: &batch) == .events)
        #expect(batch.count == 1)
        batch.removeAll()
        #expect(merge.next(sourceAssigned: [0], nowMs: 10, into: &batch) == .labels)
        #expect(merge.labelBatch.offsets.elementsEqual([0, 1]))
        #expect(merge.forced == 2)
        merge.labelsApplied()
        #expect(merge.labelProcessed[0] == 2)
        #expect(merge.next(sourceAssigned: [0], nowMs: 10, into: &batch) == nil)
        // Held longer than 100 ms: they go anyway.
        #expect(merge.next(sourceAssigned: [0], nowMs: 103, into: &batch) == .labels)
        #expect(merge.labelBatch.offsets.elementsEqual([2]))
        merge.labelsApplied()
        // An event read past them releases the rest in order.
        one.withUnsafeBytes { v in merge.readEvent(v, partition: 0, offset: 1, timestamp: 30, nowMs: 103) }
        #expect(merge.next(sourceAssigned: [0], nowMs: 103, into: &batch) == .labels)
        #expect(merge.labelBatch.offsets.elementsEqual([3, 4]))
        merge.labelsApplied()
        #expect(merge.forced == 3)
        // Labels all applied: the event at 30 waits for the label partition (read up to 24) ...
        #expect(merge.next(sourceAssigned: [0], nowMs: 103, into: &batch) == nil)
        // ... until it reports its end, and the end is confirmed after the event was read (a
        // high watermark past the end means records were appended since: still waiting).
        merge.labelClock.reachedEnd(partition: 0, offset: 5)
        #expect(merge.endsToConfirm(sourceAssigned: [0]).map(\.partition) == [0])
        #expect(merge.next(sourceAssigned: [0], nowMs: 103, into: &batch) == nil)
        merge.labelClock.confirmEnd(partition: 0, high: 5, at: 102)
        #expect(merge.next(sourceAssigned: [0], nowMs: 103, into: &batch) == nil)
        merge.labelClock.confirmEnd(partition: 0, high: 6, at: 104)
        #expect(merge.next(sourceAssigned: [0], nowMs: 104, into: &batch) == nil)
        merge.labelClock.reachedEnd(partition: 0, offset: 5)
        merge.labelClock.confirmEnd(partition: 0, high: 5, at: 104)
        #expect(merge.endsToConfirm(sourceAssigned: [0]).isEmpty)
        #expect(merge.next(sourceAssigned: [0], nowMs: 104, into: &batch) == .events)
        #expect(merge.labelProcessed[0] == 5)
    }

    /// Revoked partitions drop their held records; the others keep their order.
    @Test func droppingPartitionsKeepsTheRest() {
        var h = HeldRecords(capacity: 100, maxHoldMs: 1000)
        for i in 0..<10 {
            let bytes = Array("r\(i)".utf8)
            bytes.withUnsafeBytes { h.append($0, partition: Int32(i % 2), offset: Int64(i), timestamp: Int64(i), nowMs: 0) }
        }
        var b = InputBatch(capacity: 4)
        #expect(h.release(upTo: 1, inclusive: true, nowMs: 0, into: &b) == 2)
        h.remove(partitions: [1])
        #expect(h.count == 4)
        b.removeAll()
        #expect(h.release(upTo: .max, inclusive: true, nowMs: 0, into: &b) == 4)
        #expect(b.offsets.elementsEqual([2, 4, 6, 8]))
        #expect(String(decoding: b.bytes[b.starts[1]..<b.starts[2]], as: UTF8.self) == "r4")
        #expect(h.isEmpty && h.headTimestamp == .max)
    }
}
