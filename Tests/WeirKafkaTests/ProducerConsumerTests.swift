import Foundation
import Testing
@testable import WeirKafka

@Suite(.serialized, .timeLimit(.minutes(3)))
struct ProducerConsumerTests {
    /// 100,000 keyed messages with headers and timestamps: each arrives once, in order within
    /// its partition, with key, headers and timestamp intact.
    @Test func roundTripOf100kKeyedMessagesWithHeaders() throws {
        let broker = try EmbeddedBroker()
        let topic = uniqueName("roundtrip")
        try broker.createTopic(topic, partitions: 4)
        let p = try producer(broker)
        let t = try p.topic(topic)
        var acked: [Int32: [UInt64]] = [:]  // partition -> ids in offset order
        var ackOffsets: [UInt64: Int64] = [:]
        p.onDelivery = { r in
            #expect(r.error == nil)
            acked[r.partition, default: []].append(r.id)
            ackOffsets[r.id] = r.offset
        }
        let n = 100_000
        let base: Int64 = 1_700_000_000_000
        for i in 0..<n {
            let key = Array("user-\(i % 997)".utf8)
            let value = Array("{\"i\":\(i)}".utf8)
            try p.send(to: t, key: key, value: value,
                       headers: [KafkaHeader(name: "seq", string: String(i)), KafkaHeader(name: "empty", value: nil)],
                       timestamp: base + Int64(i), id: UInt64(i))
        }
        try p.flush()
        #expect(p.counts.delivered == UInt64(n))
        #expect(p.counts.failed == 0)

        let c = try consumer(broker, group: uniqueName("g"))
        try c.subscribe([topic])
        var seen = [Bool](repeating: false, count: n)
        var lastOffset: [Int32: Int64] = [:]
        var count = 0
        var problems = 0
        try pollUntil([c]) { _, m in
            let r = Received(m)
            let i = Int(String(decoding: r.value!, as: UTF8.self).dropFirst(5).dropLast())!
            if seen[i] { problems += 1 }
            seen[i] = true
            count += 1
            if let last = lastOffset[r.partition], last >= r.offset { problems += 1 }
            lastOffset[r.partition] = r.offset
            if r.key != Array("user-\(i % 997)".utf8) || r.timestamp != base + Int64(i)
                || r.headers != [KafkaHeader(name: "seq", string: String(i)), KafkaHeader(name: "empty", value: nil)]
                || ackOffsets[UInt64(i)] != r.offset || r.topic != topic {
                problems += 1
            }
        } done: { count >= n }
        #expect(count == n)
        #expect(problems == 0)
        #expect(seen.allSatisfy { $0 })
        // Same key, same partition, in send order.
        for (_, ids) in acked { #expect(ids == ids.sorted()) }
        c.close()
    }

    /// A backlog far above `queued.min.messages`, drained by an application slower than the
    /// fetcher: the fetch waker restarts the stopped fetchers each time the queue drains (instead
    /// of librdkafka's 1 s timer), and every message still arrives once, in offset order.
    @Test func fetchersRestartWhenTheQueueDrains() throws {
        let broker = try EmbeddedBroker()
        let topic = uniqueName("backlog")
        try broker.createTopic(topic, partitions: 2)
        let p = try producer(broker)
        let t = try p.topic(topic)
        let n = 40_000
        for i in 0..<n { try p.send(to: t, key: Array("k\(i % 13)".utf8), value: Array("\(i)".utf8)) }
        try p.flush()
        let c = try KafkaConsumer(configuration: ConsumerConfiguration(
            client: KafkaConfiguration(bootstrapServers: broker.bootstrapServers, properties: ["queued.min.messages": "2000"]),
            groupID: uniqueName("g"), offsetReset: .earliest))
        try c.subscribe([topic])
        var count = 0
        var problems = 0
        var next: [Int32: Int64] = [:]
        try pollUntil([c]) { _, m in
            if let expected = next[m.partition], expected != m.offset { problems += 1 }
            next[m.partition] = m.offset + 1
            count += 1
            if count % 2000 == 0 { Thread.sleep(forTimeInterval: 0.005) }  // a slow application
        } done: { count >= n }
        #expect(count == n)
        #expect(problems == 0)
        #expect(next.values.reduce(0, +) == Int64(n))
        #expect(c.fetchWakeUps > 0)
        c.close()
    }

    /// Large messages under a small `queued.max.messages.kbytes`, drained by a slow application:
    /// every message arrives once, in offset order.
    @Test func largeMessagesUnderTheByteLimitArriveOnceInOrder() throws {
        let broker = try EmbeddedBroker()
        defer { broker.stop() }
        let n = 480
        let topic = try filledTopic(broker, "large", partitions: 2, count: n) { [UInt8](repeating: UInt8($0 % 251), count: 16_384) }
        let c = try KafkaConsumer(configuration: ConsumerConfiguration(
            client: KafkaConfiguration(bootstrapServers: broker.bootstrapServers,
                                       properties: ["queued.max.messages.kbytes": "512", "consume.callback.max.messages": "8"]),
            groupID: uniqueName("g"), offsetReset: .earliest))
        defer { c.close() }
        try c.assign((0..<2).map { TopicPartitionOffset(topic: topic, partition: $0, offset: TopicPartitionOffset.beginning) })
        var count = 0
        var problems = 0
        var next: [Int32: Int64] = [:]
        // A slow application: 8 messages per poll, 5 ms between polls (the queue fills to the
        // byte limit, ~32 messages, between refills).
        try pollUntil([c]) { _, m in
            if let expected = next[m.partition], expected != m.offset { problems += 1 }
            if m.value?.count != 16_384 { problems += 1 }
            next[m.partition] = m.offset + 1
            count += 1
            if count % 8 == 0 { Thread.sleep(forTimeInterval: 0.005) }
        } done: { count >= n }
        #expect(count == n)
        #expect(problems == 0)
        // Whether a refill needed the waker depends on the broker thread's other wake-ups (its
        // fetch responses, timers); when it decides to wake is checked below, without timing.
    }

    /// The queue length the waker takes as full: the count limit, or the byte limit's length at
    /// the average message size when that is shorter. librdkafka stops fetching at
    /// `queued.max.messages.kbytes` long before `queued.min.messages` messages of the global
    /// stage's ~300 kB batches are queued; taking only the count, the waker never restarted those
    /// fetchers and each refill waited for the broker thread's timer (ScaleBench `--kafka`: 0.9 M
    /// instead of 2.3 M events/s).
    @Test func theWakersFullLengthIsTheShorterLimit() throws {
        let broker = try EmbeddedBroker()
        defer { broker.stop() }
        let c = try consumer(broker, group: uniqueName("g"))
        defer { c.close() }
        let waker = c.waker
        #expect(waker.threshold == 100_000 && waker.byteLimit == 65_536 * 1024)
        #expect(waker.fullLength(averageBytes: 0) == 100_000)
        #expect(waker.fullLength(averageBytes: 300) == 100_000)
        #expect(waker.fullLength(averageBytes: 300_000) == 223)
        #expect(waker.fullLength(averageBytes: 100_000_000) == 1)
        // A queue of 300 kB messages that filled to the byte limit and drained below half of it
        // asks for one wake-up; the same lengths of small messages are far from full.
        let before = c.fetchWakeUps
        waker.observe(queueLength: 200, averageBytes: 300_000)
        waker.observe(queueLength: 100, averageBytes: 300_000)
        #expect(c.fetchWakeUps == before + 1)
        waker.observe(queueLength: 200, averageBytes: 300)
        waker.observe(queueLength: 100, averageBytes: 300)
        #expect(c.fetchWakeUps == before + 1)
    }

    /// Commit, close, reopen with the same group: consumption resumes at the committed offset.
    @Test func resumesAtCommittedOffset() throws {
        let broker = try EmbeddedBroker()
        let topic = uniqueName("resume")
        try broker.createTopic(topic, partitions: 1)
        let p = try producer(broker)
        let t = try p.topic(topic)
        for i in 0..<1000 { try p.send(to: t, key: nil, value: Array("\(i)".utf8)) }
        try p.flush()
        let group = uniqueName("g")
        do {
            let c = try consumer(broker, group: group)
            try c.subscribe([topic])
            var got = 0
            try pollUntil([c]) { _, m in
                if got < 400 {
                    got += 1
                    if got == 400 { try? c.commit([TopicPartitionOffset(topic: topic, partition: 0, offset: m.offset + 1)]) }
                }
            } done: { got >= 400 }
            #expect(try c.committed([TopicPartition(topic: topic, partition: 0)]).first?.offset == 400)
            c.close()
        }
        let c2 = try consumer(broker, group: group)
        try c2.subscribe([topic])
        var first: Int64?
        var count = 0
        try pollUntil([c2]) { _, m in
            if first == nil { first = m.offset }
            count += 1
        } done: { count >= 600 }
        #expect(first == 400)
        #expect(count == 600)
        c2.close()
    }

    /// Two members over four partitions: a rebalance when the second joins, reported before the
    /// assignment changes, and every message consumed exactly once across both.
    @Test func consumerGroupRebalanceConsumesEachMessageOnce() throws {
        let broker = try EmbeddedBroker()
        let topic = uniqueName("group")
        try broker.createTopic(topic, partitions: 4)
        let group = uniqueName("g")
        let p = try producer(broker)
        let t = try p.topic(topic)
        let n = 20_000
        var next = 0
        func produce(_ k: Int) throws {
            for _ in 0..<k {
                try p.send(to: t, partition: Int32(next % 4), key: nil, value: Array(String(next).utf8))
                next += 1
            }
            try p.flush()
        }
        try produce(n / 2)

        let a = try consumer(broker, group: group)
        let b = try consumer(broker, group: group)
        var events: [[RebalanceEvent]] = [[], []]
        var owned: [Set<TopicPartition>] = [[], []]
        var stillAssignedOnRevoke = true
        var processed: [[TopicPartition: Int64]] = [[:], [:]]  // next offset to commit
        var counts = [Int](repeating: 0, count: n)
        for (i, c) in [a, b].enumerated() {
            c.onRebalance = { [unowned c] e in
                events[i].append(e)
                switch e {
                case .assigned(let ps): owned[i].formUnion(ps)
                case .revoked(let ps), .lost(let ps):
                    // Before the fact: the partitions are still ours, so we can commit them now.
                    let current = Set((try? c.assignment()) ?? [])
                    if !Set(ps).isSubset(of: current) { stillAssignedOnRevoke = false }
                    let offs = ps.compactMap { tp in processed[i][tp].map { TopicPartitionOffset(topic: tp.topic, partition: tp.partition, offset: $0) } }
                    try? c.commit(offs)
                    owned[i].subtract(ps)
                }
            }
        }
        var total = 0
        let handle: (Int, KafkaMessage) -> Void = { i, m in
            let v = Int(String(decoding: m.value!, as: UTF8.self))!
            counts[v] += 1
            total += 1
            processed[i][TopicPartition(topic: m.topic, partition: m.partition)] = m.offset + 1
        }
        try a.subscribe([topic])
        try pollUntil([a], handle, done: { total >= n / 2 })
        // Commit what a processed, then the second member joins.
        try a.commit(processed[0].map { TopicPartitionOffset(topic: $0.key.topic, partition: $0.key.partition, offset: $0.value) })
        try b.subscribe([topic])
        try pollUntil([a, b], { i, m in handle(i, m) }, done: { !owned[1].isEmpty && !owned[0].isEmpty })
        try produce(n / 2)
        try pollUntil([a, b], { i, m in handle(i, m) }, done: { total >= n })
        // Drain a little longer to catch duplicates.
        for _ in 0..<10 { for (i, c) in [a, b].enumerated() { try c.poll(timeout: .milliseconds(50)) { handle(i, $0) } } }

        #expect(events[0].contains { if case .revoked = $0 { return true } else { return false } })
        #expect(events[1].contains { if case .assigned = $0 { return true } else { return false } })
        #expect(stillAssignedOnRevoke)
        #expect(owned[0].isDisjoint(with: owned[1]))
        #expect(owned[0].union(owned[1]).count == 4)
        #expect(counts.allSatisfy { $0 == 1 }, "duplicates: \(counts.filter { $0 > 1 }.count), missing: \(counts.filter { $0 == 0 }.count)")
        a.close()
        b.close()
    }

    /// Pause stops delivery from a partition; resume restarts it where it was.
    @Test func pauseAndResume() throws {
        let broker = try EmbeddedBroker()
        let topic = uniqueName("pause")
        try broker.createTopic(topic, partitions: 1)
        let p = try producer(broker)
        let t = try p.topic(topic)
        for i in 0..<100 { try p.send(to: t, key: nil, value: Array("\(i)".utf8)) }
        try p.flush()
        let c = try consumer(broker, group: uniqueName("g"))
        let tp = TopicPartition(topic: topic, partition: 0)
        try c.assign([TopicPartitionOffset(topic: topic, partition: 0, offset: TopicPartitionOffset.beginning)])
        var got = 0
        try pollUntil([c], { _, _ in got += 1 }, done: { got >= 100 })
        try c.pause([tp])
        for i in 100..<200 { try p.send(to: t, key: nil, value: Array("\(i)".utf8)) }
        try p.flush()
        var whilePaused = 0
        for _ in 0..<20 { try c.poll(timeout: .milliseconds(50)) { _ in whilePaused += 1 } }
        #expect(whilePaused == 0)
        try c.resume([tp])
        var after: [Int64] = []
        try pollUntil([c], { _, m in after.append(m.offset) }, done: { after.count >= 100 })
        #expect(after == Array(100..<200).map(Int64.init))
        c.close()
    }

    /// End of partition is reported with the offset reached; seek rewinds.
    @Test func endOfPartitionAndSeek() throws {
        let broker = try EmbeddedBroker()
        let topic = uniqueName("eof")
        try broker.createTopic(topic, partitions: 2)
        let p = try producer(broker)
        let t = try p.topic(topic)
        for i in 0..<50 { try p.send(to: t, partition: Int32(i % 2), key: nil, value: [UInt8(i)]) }
        try p.flush()
        let c = try consumer(broker, group: uniqueName("g"), eof: true)
        var eofs: [TopicPartition: Int64] = [:]
        c.onEvent = { e in if case let .endOfPartition(tp, off) = e { eofs[tp] = off } }
        try c.subscribe([topic])
        var got = 0
        try pollUntil([c], { _, _ in got += 1 }, done: { eofs.count == 2 })
        #expect(got == 50)
        #expect(eofs[TopicPartition(topic: topic, partition: 0)] == 25)
        #expect(eofs[TopicPartition(topic: topic, partition: 1)] == 25)
        try c.seek([TopicPartitionOffset(topic: topic, partition: 1, offset: 20)])
        var again: [Int64] = []
        try pollUntil([c], { _, m in again.append(m.offset) }, done: { again.count >= 5 })
        #expect(again == [20, 21, 22, 23, 24])
        c.close()
    }

    /// Watermarks are queried beside the fetch the broker holds open while the consumer is at
    /// the end of its partitions (up to `fetch.wait.max.ms`, here 2 s), not behind it: queries at
    /// the end answer well within one fetch wait, and see a record appended since.
    @Test func watermarksAtTheEndDoNotWaitForTheOpenFetch() throws {
        let broker = try EmbeddedBroker()
        let topic = uniqueName("wm")
        try broker.createTopic(topic, partitions: 1)
        let p = try producer(broker)
        let t = try p.topic(topic)
        for i in 0..<10 { try p.send(to: t, partition: 0, key: nil, value: [UInt8(i)]) }
        try p.flush()
        let c = try KafkaConsumer(configuration: ConsumerConfiguration(
            client: KafkaConfiguration(bootstrapServers: broker.bootstrapServers, properties: ["fetch.wait.max.ms": "2000"]),
            groupID: uniqueName("g"), offsetReset: .earliest, reportEndOfPartition: true))
        var atEnd = false
        c.onEvent = { e in if case .endOfPartition = e { atEnd = true } }
        try c.subscribe([topic])
        var got = 0
        try pollUntil([c], { _, _ in got += 1 }, done: { atEnd })
        #expect(got == 10)
        let tp = TopicPartition(topic: topic, partition: 0)
        let clock = ContinuousClock()
        var waited = Duration.zero
        for _ in 0..<3 {
            let began = clock.now
            #expect(try c.watermarks(tp).high == 10)
            waited += clock.now - began
        }
        try p.send(to: t, partition: 0, key: nil, value: [10])
        try p.flush()
        let began = clock.now
        #expect(try c.watermarks(tp).high == 11)
        waited += clock.now - began
        #expect(waited < .milliseconds(3000), "4 watermark queries took \(waited) (the open fetch waits 2 s)")
        c.close()
    }

    /// A tombstone (null value) is delivered as a nil value, never a crash.
    @Test func tombstoneIsNilValue() throws {
        let broker = try EmbeddedBroker()
        let topic = uniqueName("tomb")
        try broker.createTopic(topic, partitions: 1)
        let p = try producer(broker)
        try p.send(to: try p.topic(topic), key: Array("k".utf8), value: nil)
        try p.flush()
        let c = try consumer(broker, group: uniqueName("g"))
        try c.subscribe([topic])
        var got: [Received] = []
        try pollUntil([c], { _, m in got.append(Received(m)) }, done: { !got.isEmpty })
        #expect(got.first?.value == nil)
        #expect(got.first?.key == Array("k".utf8))
        c.close()
    }
}

@Suite(.timeLimit(.minutes(2)))
struct ProducerBackpressureTests {
    /// A producer queue of 100 messages, 20,000 sends while the broker is slow: `send` waits for
    /// room instead of failing or dropping, and every message is delivered.
    @Test func queueFullWaitsInsteadOfDropping() throws {
        let broker = try EmbeddedBroker()
        let topic = uniqueName("queuefull")
        try broker.createTopic(topic, partitions: 1)
        try broker.setRoundTripTime(broker: 1, milliseconds: 20)
        let p = try KafkaProducer(configuration: ProducerConfiguration(
            client: KafkaConfiguration(bootstrapServers: broker.bootstrapServers), lingerMs: 1, batchMessages: 50, queueCapacity: 100))
        let t = try p.topic(topic)
        for i in 0..<20_000 { try p.send(to: t, key: nil, value: Array(String(i).utf8)) }
        try p.flush(timeout: .seconds(60))
        #expect(p.counts.sent == 20_000)
        #expect(p.counts.delivered == 20_000)
        #expect(p.counts.failed == 0)
    }
}
