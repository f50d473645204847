import Foundation
import Testing
@testable import WeirKafka

@Suite(.serialized, .timeLimit(.minutes(3)))
struct FaultTests {
    /// Retention gap: while the group's consumer is stopped, well over 5 MiB is produced into one
    /// partition, so the embedded broker drops the oldest records. On resume the gap is reported
    /// with topic, partition, expected and first available offsets, and the exact skipped count.
    @Test func retentionGapIsReportedWithExactSkippedCount() throws {
        let broker = try EmbeddedBroker()
        let topic = uniqueName("gap")
        try broker.createTopic(topic, partitions: 1)
        let group = uniqueName("g")
        let p = try producer(broker)
        let t = try p.topic(topic)
        for i in 0..<100 { try p.send(to: t, key: nil, value: Array("\(i)".utf8)) }
        try p.flush()
        do {
            let c = try consumer(broker, group: group)
            try c.subscribe([topic])
            var got = 0
            try pollUntil([c], { _, _ in got += 1 }, done: { got >= 100 })
            try c.commit([TopicPartitionOffset(topic: topic, partition: 0, offset: 100)])
            c.close()
        }
        // ~12 MiB of 4 KiB values: more than twice the mock's 5 MiB per-partition cap.
        let big = [UInt8](repeating: 0x61, count: 4096)
        for _ in 0..<3000 { try p.send(to: t, key: nil, value: big) }
        try p.flush()

        let c = try consumer(broker, group: group)
        let (low, high) = try c.watermarks(TopicPartition(topic: topic, partition: 0))
        #expect(low > 100, "the embedded broker should have dropped the oldest records")
        var reports: [DataLossReport] = []
        c.onEvent = { e in if case .dataLoss(let r) = e { reports.append(r) } }
        try c.subscribe([topic])
        var offsets: [Int64] = []
        try pollUntil([c], { _, m in offsets.append(m.offset) }, done: { offsets.count >= Int(high - low) })
        #expect(reports.count == 1)
        let r = try #require(reports.first)
        #expect(r.topic == topic && r.partition == 0)
        #expect(r.expectedOffset == 100)
        #expect(r.firstAvailableOffset == low)
        #expect(r.skippedOffsets == low - 100)
        #expect(c.counters.skippedOffsets == low - 100)
        #expect(c.counters.dataLossEvents == 1)
        // Earliest policy: reading resumes at the first available record, nothing else skipped.
        #expect(offsets.first == low)
        #expect(offsets == Array(low..<high))
        c.close()
    }

    /// With the `.fail` policy the same gap stops the consumer with a typed data-loss error.
    @Test func retentionGapWithFailPolicyThrows() throws {
        let broker = try EmbeddedBroker()
        let topic = uniqueName("gapfail")
        try broker.createTopic(topic, partitions: 1)
        let p = try producer(broker)
        let t = try p.topic(topic)
        let big = [UInt8](repeating: 0x62, count: 4096)
        for _ in 0..<3000 { try p.send(to: t, key: nil, value: big) }
        try p.flush()
        let c = try consumer(broker, group: uniqueName("g"), reset: .fail)
        try c.assign([TopicPartitionOffset(topic: topic, partition: 0, offset: 0)])
        var thrown: KafkaError?
        let end = ContinuousClock.now + .seconds(30)
        while thrown == nil && ContinuousClock.now < end {
            do { try c.poll { _ in } } catch { thrown = error }
        }
        guard case .dataLoss(let r)? = thrown else {
            Issue.record("expected dataLoss, got \(String(describing: thrown))")
            return
        }
        #expect(r.expectedOffset == 0 && r.skippedOffsets > 0)
        #expect(thrown?.isFatal == true)
        c.close()
    }

    /// A broker taken down mid-production and brought back: the idempotent producer retries,
    /// and every message is there exactly once.
    @Test func brokerDownMidProductionLosesAndDuplicatesNothing() throws {
        let broker = try EmbeddedBroker()
        let topic = uniqueName("down")
        try broker.createTopic(topic, partitions: 2)
        let p = try producer(broker)
        let t = try p.topic(topic)
        let n = 20_000
        for i in 0..<n {
            if i == n / 2 {
                try broker.setBrokerDown(1)
                let downAt = ContinuousClock.now
                // Keep producing into the queue while the broker is down.
                var j = i
                while ContinuousClock.now - downAt < .seconds(3) {
                    if j < n * 3 / 4 {
                        try p.send(to: t, key: nil, value: Array(String(j).utf8))
                        j += 1
                    }
                    p.poll(timeout: .milliseconds(10))
                }
                try broker.setBrokerUp(1)
                for k in j..<n { try p.send(to: t, key: nil, value: Array(String(k).utf8)) }
                break
            }
            try p.send(to: t, key: nil, value: Array(String(i).utf8))
        }
        try p.flush(timeout: .seconds(60))
        #expect(p.counts.delivered == UInt64(n))
        #expect(p.counts.failed == 0)

        let c = try consumer(broker, group: uniqueName("g"))
        try c.subscribe([topic])
        var counts = [Int](repeating: 0, count: n)
        var total = 0
        try pollUntil([c], { _, m in
            counts[Int(String(decoding: m.value!, as: UTF8.self))!] += 1
            total += 1
        }, done: { total >= n })
        for _ in 0..<10 { try c.poll(timeout: .milliseconds(50)) { m in counts[Int(String(decoding: m.value!, as: UTF8.self))!] += 1 } }
        #expect(counts.allSatisfy { $0 == 1 }, "duplicates: \(counts.filter { $0 > 1 }.count), missing: \(counts.filter { $0 == 0 }.count)")
        c.close()
    }

    /// Request errors injected into Produce are retried by the idempotent producer.
    @Test func injectedProduceErrorsAreRetried() throws {
        let broker = try EmbeddedBroker()
        let topic = uniqueName("inject")
        try broker.createTopic(topic, partitions: 1)
        broker.pushRequestErrors(apiKey: 0, errors: [.notLeaderForPartition, .requestTimedOut, .notLeaderForPartition])
        let p = try producer(broker)
        let t = try p.topic(topic)
        for i in 0..<1000 { try p.send(to: t, key: nil, value: Array(String(i).utf8)) }
        try p.flush(timeout: .seconds(60))
        #expect(p.counts.delivered == 1000)
        let c = try consumer(broker, group: uniqueName("g"))
        let (low, high) = try c.watermarks(TopicPartition(topic: topic, partition: 0))
        #expect(low == 0 && high == 1000)
        c.close()
    }
}
