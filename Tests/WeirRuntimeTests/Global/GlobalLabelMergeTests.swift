import Testing
import WeirCore
import WeirTestSupport
@testable import WeirRuntime

/// A partitioned run's label topic at the global stage (``GlobalLabelMerge``), without Kafka:
/// the tasks' batches and the label records arrive in random interleavings; the order in which
/// events and labels are applied must be one instance's timestamp merge (a sort by timestamp,
/// events before labels, partition, then read order), whatever the arrival order; an
/// order conflict between event times and message timestamps must not stall the stage.
@Suite struct GlobalLabelMergeTests {
    typealias Batch = GlobalInputMergeTests.Batch

    /// Per label partition, the timestamps of its records (ascending, with ties).
    static func labels(partitions: Int, count: Int, seed: UInt64) -> [[Int64]] {
        var g = SeededGenerator(seed: seed)
        return (0..<partitions).map { _ in
            var t: Int64 = 0
            return (0..<Int(g.next(below: UInt64(count + 1)))).map { _ in
                t += Int64(g.next(below: 4))
                return t
            }
        }
    }

    /// The stream with each event's message timestamp its event time (`stamped`: sent in the
    /// batch; otherwise the global stage falls back to the event time).
    static func events(partitions: Int, seed: UInt64, stamped: Bool) -> [[Batch]] {
        GlobalInputMergeTests.stream(partitions: partitions, batches: 6, seed: seed).map { batches in
            batches.map { b in
                var b = b
                if stamped { b.stamps = b.events.map(\.time) }
                return b
            }
        }
    }

    /// What one instance's timestamp merge applies: events "E partition/offset" and labels
    /// "L partition/offset", sorted by (timestamp, events first, partition, read order).
    static func oracle(events: [[Batch]], labels: [[Int64]]) -> [String] {
        var items: [(time: Int64, rank: Int, p: Int, i: Int, name: String)] = []
        for (p, batches) in events.enumerated() {
            for (i, e) in batches.flatMap(\.events).enumerated() { items.append((e.time, 0, p, i, "E \(p)/\(e.offset)")) }
        }
        for (p, stamps) in labels.enumerated() {
            for (i, t) in stamps.enumerated() { items.append((t, 1, p, i, "L \(p)/\(i)")) }
        }
        return items.sorted { ($0.time, $0.rank, $0.p, $0.i) < ($1.time, $1.rank, $1.p, $1.i) }.map(\.name)
    }

    /// Feeds batches and label records in a random interleaving (each partition in order), one
    /// per wall millisecond, running the stage's step after each: ends confirmed as the stage
    /// does (a label partition reports its end once all its records were read; every end it
    /// asks for is confirmed at the current wall time), then ``GlobalLabelMerge/interleave(events:nowMs:process:apply:)``.
    static func drain(events: [[Batch]], labels: [[Int64]], seed: UInt64) throws -> (order: [String], labels: GlobalLabelMerge) {
        var g = SeededGenerator(seed: seed)
        var merge = GlobalInputMerge(partitions: events.count)
        var label = GlobalLabelMerge(topic: "labels", partitions: labels.count, capacity: 1 << 20, maxHoldMs: .max / 4)
        var nextBatch = Array(repeating: 0, count: events.count)
        var nextLabel = Array(repeating: 0, count: labels.count)
        var order: [String] = []
        var now: Int64 = 1_000
        for (p, stamps) in labels.enumerated() where stamps.isEmpty { label.reachedEnd(partition: Int32(p), offset: 0) }
        func step() throws {
            for p in label.endsToConfirm(eventsWaiting: merge.heldBytes > 0) {
                label.confirmEnd(partition: p, high: Int64(labels[Int(p)].count), at: now)
            }
            _ = try label.interleave(events: &merge, nowMs: now, process: { batch, range in
                for i in range { order.append("E \(batch.partition)/\(batch.offset(i))") }
            }, apply: { batch in
                for i in 0..<batch.count { order.append("L \(batch.partitions[i])/\(batch.offsets[i])") }
            })
        }
        while true {
            let sources = (0..<events.count).filter { nextBatch[$0] < events[$0].count }.map { (false, $0) }
                + (0..<labels.count).filter { nextLabel[$0] < labels[$0].count }.map { (true, $0) }
            guard !sources.isEmpty else { break }
            now += 1
            let (isLabel, p) = sources[Int(g.next(below: UInt64(sources.count)))]
            if isLabel {
                let i = nextLabel[p]
                let bytes: [UInt8] = Array("L \(p)/\(i)".utf8)
                bytes.withUnsafeBytes { label.read($0, partition: Int32(p), offset: Int64(i), timestamp: labels[p][i], nowMs: now) }
                nextLabel[p] += 1
                if nextLabel[p] == labels[p].count { label.reachedEnd(partition: Int32(p), offset: Int64(labels[p].count)) }
            } else {
                let bytes = events[p][nextBatch[p]].encoded()
                try bytes.withUnsafeBytes { try merge.add(partition: Int32(p), offset: Int64(nextBatch[p]), bytes: $0) }
                label.eventsRead(nowMs: now)
                nextBatch[p] += 1
            }
            try step()
        }
        now += 1
        try step()
        #expect(merge.allEnded, "every event handed out")
        return (order, label)
    }

    /// 40 random streams (3 task partitions, 2 label partitions), each in a random arrival
    /// order: the applied order is the oracle's; every label is applied once, the label offsets
    /// are past the last record of each partition, and the merge is drained.
    @Test(arguments: [true, false]) func appliesEventsAndLabelsInOneInstancesOrder(stamped: Bool) throws {
        for seed in UInt64(1)...40 {
            let events = Self.events(partitions: 3, seed: seed, stamped: stamped)
            let labels = Self.labels(partitions: 2, count: 25, seed: seed &* 31)
            let (order, merge) = try Self.drain(events: events, labels: labels, seed: seed &* 7)
            #expect(order == Self.oracle(events: events, labels: labels), "seed \(seed)")
            #expect(merge.held == 0 && merge.drained && merge.eventsForced == 0, "seed \(seed)")
            for (p, stamps) in labels.enumerated() where !stamps.isEmpty {
                #expect(merge.processed[Int32(p)] == Int64(stamps.count), "seed \(seed), label partition \(p)")
            }
        }
    }

    /// A label partition that has read nothing holds every event back until it reports its
    /// end, and that end counts only once confirmed after the events were read.
    @Test func anUnreadLabelPartitionHoldsTheEventsUntilItsEndIsConfirmed() throws {
        var merge = GlobalInputMerge(partitions: 1)
        var labels = GlobalLabelMerge(topic: "labels", partitions: 1, capacity: 100, maxHoldMs: 1_000_000)
        let batch = Batch(partition: 0, events: [(10, 0), (20, 1)], flags: [.ended], stamps: [10, 20]).encoded()
        try batch.withUnsafeBytes { try merge.add(partition: 0, offset: 0, bytes: $0) }
        labels.eventsRead(nowMs: 100)
        var handed: [Int64] = []
        func step(_ now: Int64) -> Int {
            labels.interleave(events: &merge, nowMs: now, process: { b, r in for i in r { handed.append(b.offset(i)) } }, apply: { _ in })
        }
        _ = step(100)
        #expect(handed.isEmpty, "nothing read from the label topic yet")
        labels.reachedEnd(partition: 0, offset: 0)
        #expect(labels.endsToConfirm(eventsWaiting: true) == [0])
        labels.confirmEnd(partition: 0, high: 0, at: 99)  // issued before the events were read
        _ = step(101)
        #expect(handed.isEmpty, "an end confirmed before the events were read does not cover them")
        labels.confirmEnd(partition: 0, high: 0, at: 100)
        _ = step(102)
        #expect(handed == [0, 1])
        #expect(labels.drained)
    }

    /// The tasks' merge goes by event time, labels by message time: task 0's event (time 10,
    /// stamped 100) comes first, task 1's (time 20, stamped 50) must precede the label stamped
    /// 60, which must precede task 0's. No order satisfies all three: the stage does not stall,
    /// the first event in the tasks' merge goes first (counted), then the other, then the label.
    @Test func disagreeingOrdersDoNotStall() throws {
        var merge = GlobalInputMerge(partitions: 2)
        var labels = GlobalLabelMerge(topic: "labels", partitions: 1, capacity: 100, maxHoldMs: 1_000_000)
        let heads: [(p: Int32, time: Int64, stamp: Int64)] = [(0, 10, 100), (1, 20, 50)]
        for (p, time, stamp) in heads {
            let bytes = Batch(partition: p, events: [(time, 0)], flags: [.ended], stamps: [stamp]).encoded()
            try bytes.withUnsafeBytes { try merge.add(partition: p, offset: 0, bytes: $0) }
        }
        Array("label".utf8).withUnsafeBytes { labels.read($0, partition: 0, offset: 0, timestamp: 60, nowMs: 5) }
        labels.reachedEnd(partition: 0, offset: 1)
        labels.confirmEnd(partition: 0, high: 1, at: 5)
        var order: [String] = []
        _ = labels.interleave(events: &merge, nowMs: 6, process: { b, r in for _ in r { order.append("E\(b.partition)") } },
                              apply: { b in for _ in 0..<b.count { order.append("L") } })
        #expect(order == ["E0", "E1", "L"])
        #expect(labels.eventsForced == 1)
        #expect(labels.drained && merge.allEnded)
    }

    /// A task that had read its source to the end (its newest batch caught up) and has nothing
    /// held may still have events on their way (produced since, read by the task but not yet
    /// sent): a label waits until the stage confirms that partition's end (its source's high
    /// watermark, queried after the label was read, at or below the task's position), then goes.
    @Test func aCaughtUpTaskHoldsLabelsUntilItsEndIsConfirmed() throws {
        var merge = GlobalInputMerge(partitions: 1)
        var labels = GlobalLabelMerge(topic: "labels", partitions: 1, capacity: 100, maxHoldMs: 1_000_000)
        let bytes = Batch(partition: 0, events: [(10, 0), (11, 1)], flags: [.caughtUp], stamps: [10, 11]).encoded()
        try bytes.withUnsafeBytes { try merge.add(partition: 0, offset: 0, bytes: $0) }
        Array("label".utf8).withUnsafeBytes { labels.read($0, partition: 0, offset: 0, timestamp: 20, nowMs: 5) }
        var order: [String] = []
        var asked: [(Int32, Int64)] = []
        func step(confirmed: Bool) {
            _ = labels.interleave(events: &merge, nowMs: 6, endConfirmed: { p, next in asked.append((p, next)); return confirmed },
                                  process: { b, r in for i in r { order.append("E\(b.offset(i))") } },
                                  apply: { b in for _ in 0..<b.count { order.append("L") } })
        }
        step(confirmed: false)
        #expect(order == ["E0", "E1"], "the events go; the label waits")
        #expect(merge.caughtUpIdle == [0])
        #expect(asked.last.map { $0.0 == 0 && $0.1 == 2 } == true, "asked about partition 0 at offset 2 (handed out through offset 1)")
        step(confirmed: true)
        #expect(order == ["E0", "E1", "L"])
    }

    /// A caught-up task whose last records were dead letters (offsets 2 to 4 after its events at
    /// 0 and 1) says where it read to (version 5's source position): the end is asked about at
    /// offset 5, so the source's high watermark (5) confirms it. Before, the stage asked at 2
    /// (one past the last event) and such labels waited for the partition's next event.
    @Test func deadLettersAtAPartitionsEndDoNotHoldLabels() throws {
        var merge = GlobalInputMerge(partitions: 1)
        var labels = GlobalLabelMerge(topic: "labels", partitions: 1, capacity: 100, maxHoldMs: 1_000_000)
        let bytes = Batch(partition: 0, events: [(10, 0), (11, 1)], flags: [.caughtUp], stamps: [10, 11], readThrough: 5).encoded()
        try bytes.withUnsafeBytes { try merge.add(partition: 0, offset: 0, bytes: $0) }
        Array("label".utf8).withUnsafeBytes { labels.read($0, partition: 0, offset: 0, timestamp: 20, nowMs: 5) }
        var order: [String] = []
        var asked: [Int64] = []
        _ = labels.interleave(events: &merge, nowMs: 6, endConfirmed: { _, next in asked.append(next); return next >= 5 },
                              process: { b, r in for i in r { order.append("E\(b.offset(i))") } },
                              apply: { b in for _ in 0..<b.count { order.append("L") } })
        #expect(asked.last == 5)
        #expect(order == ["E0", "E1", "L"])
        // The position is the newest batch's only once every batch is handed out: with one held,
        // the end is not asked about at all (its events come first).
        var held = GlobalInputMerge(partitions: 1)
        for (k, b) in [Batch(partition: 0, events: [(10, 0)], stamps: [10], readThrough: 1),
                       Batch(partition: 0, events: [(30, 1)], flags: [.caughtUp], stamps: [30], readThrough: 9)].enumerated() {
            try b.encoded().withUnsafeBytes { try held.add(partition: 0, offset: Int64(k), bytes: $0) }
        }
        var frontiers: [Int64?] = []
        frontiers.append(held.labelFrontier { _, next in asked.append(next); return true })
        #expect(frontiers == [10], "the held event at stamp 10 bounds the labels")
    }

    /// Labels held past the hold's bound go even while a task's next events are unknown (a
    /// partition that sent nothing blocks the merge): they are counted as forced. Before, such a
    /// partition held them until it sent something, whatever their age.
    @Test func overdueLabelsGoWhileATaskIsSilent() throws {
        var merge = GlobalInputMerge(partitions: 2)
        let bytes = Batch(partition: 0, events: [(10, 0)], flags: [.caughtUp], stamps: [10]).encoded()
        try bytes.withUnsafeBytes { try merge.add(partition: 0, offset: 0, bytes: $0) }  // partition 1: nothing yet
        var labels = GlobalLabelMerge(topic: "labels", partitions: 1, capacity: 100, maxHoldMs: 1_000)
        Array("label".utf8).withUnsafeBytes { labels.read($0, partition: 0, offset: 0, timestamp: 20, nowMs: 0) }
        var applied = 0
        func step(_ now: Int64) {
            _ = labels.interleave(events: &merge, nowMs: now, endConfirmed: { _, _ in true }, process: { _, _ in },
                                  apply: { b in applied += b.count })
        }
        step(500)
        #expect(applied == 0 && labels.held == 1, "within its hold the label waits for partition 1")
        step(1_001)
        #expect(applied == 1 && labels.held == 0 && labels.forced == 1)
    }
}
