import Foundation
import Testing
import WeirTestSupport
@testable import WeirKafka

/// `HeaderBlock`: values as `String(_:)` would print them, reuse without leftovers, and the same
/// headers on the wire as the `[KafkaHeader]` path.
@Suite(.serialized, .timeLimit(.minutes(2)))
struct HeaderBlockTests {
    @Test func decimalsMatchStringDescription() {
        var rng = SeededGenerator(seed: 41)
        var values: [Int64] = [0, 1, -1, 9, 10, -10, 99, 100, Int64.max, Int64.min, Int64.min + 1]
        for _ in 0..<2_000 { values.append(Int64.random(in: Int64.min...Int64.max, using: &rng) >> Int64.random(in: 0...62, using: &rng)) }
        var block = HeaderBlock()
        for v in values {
            block.removeAll()
            block.append("n", decimal: v)
            #expect(block.headers == [KafkaHeader(name: "n", string: String(v))], "\(v)")
        }
    }

    @Test func reuseKeepsNoLeftoversAndComposesValues() {
        var block = HeaderBlock(capacity: 2)
        block.append("weir.source.topic", bytes: Array("events".utf8))
        block.append("weir.source.offset", decimal: 1_234_567)
        block.begin("weir.txn")
        block.write(Array("host-1-99".utf8))
        block.write(ascii: UInt8(ascii: "/"))
        block.write(decimal: 12)
        block.write(ascii: UInt8(ascii: "/"))
        block.write(decimal: 0)
        block.end()
        block.append("empty", bytes: [])
        #expect(block.headers == [KafkaHeader(name: "weir.source.topic", string: "events"),
                                  KafkaHeader(name: "weir.source.offset", string: "1234567"),
                                  KafkaHeader(name: "weir.txn", string: "host-1-99/12/0"),
                                  KafkaHeader(name: "empty", value: [])])
        block.removeAll()
        #expect(block.count == 0 && block.headers.isEmpty)
        block.append("seq", decimal: 7)
        #expect(block.headers == [KafkaHeader(name: "seq", string: "7")])
    }

    /// A copy is a value: writing to one leaves the other as it was (the buffer is copied on
    /// write); blocks grow past their initial capacity, names and bytes alike.
    @Test func copiesAreIndependentAndBlocksGrow() {
        var a = HeaderBlock(capacity: 1)
        a.append("weir.id", bytes: Array("events/3/17/0".utf8))
        var b = a
        b.append("weir.epoch", decimal: 5)
        a.removeAll()
        a.append("x", decimal: -1)
        #expect(a.headers == [KafkaHeader(name: "x", string: "-1")])
        #expect(b.headers == [KafkaHeader(name: "weir.id", string: "events/3/17/0"), KafkaHeader(name: "weir.epoch", string: "5")])
        var big = HeaderBlock(capacity: 1)
        let long = Array(repeating: UInt8(ascii: "z"), count: 1_000)
        var expected: [KafkaHeader] = []
        for i in 0..<20 {
            big.append("h", bytes: Array(long.prefix(i * 50)))
            big.append("n", decimal: Int64(i) * -7_000_000_000_001)
            expected += [KafkaHeader(name: "h", value: Array(long.prefix(i * 50))), KafkaHeader(name: "n", string: String(Int64(i) * -7_000_000_000_001))]
        }
        #expect(big.headers == expected)
    }

    /// Records sent with a block arrive with exactly those headers, in order, as records sent with
    /// the equivalent `[KafkaHeader]`.
    @Test func blockHeadersArriveAsSent() throws {
        let broker = try EmbeddedBroker()
        let topic = uniqueName("hb")
        try broker.createTopic(topic, partitions: 1)
        let p = try producer(broker)
        let t = try p.topic(topic)
        var block = HeaderBlock()
        var expected: [[KafkaHeader]] = []
        for i in 0..<200 {
            block.removeAll()
            block.append("weir.source.partition", decimal: Int64(i % 4))
            block.append("weir.source.offset", decimal: Int64(i) * 1_000_003 - 7)
            block.append("weir.seq", decimal: Int64(i % 3))
            let value = Array("{\"i\":\(i)}".utf8)
            try value.withUnsafeBytes { v in try p.send(to: t, partition: 0, key: nil, value: v, headers: block) }
            expected.append(block.headers)
        }
        try p.flush()
        let c = try consumer(broker, group: uniqueName("g"))
        try c.subscribe([topic])
        var got: [[KafkaHeader]] = []
        try pollUntil([c]) { _, m in got.append(Received(m).headers) } done: { got.count >= expected.count }
        #expect(got == expected)
        #expect(got[5] == [KafkaHeader(name: "weir.source.partition", string: "1"),
                           KafkaHeader(name: "weir.source.offset", string: String(5 * 1_000_003 - 7)),
                           KafkaHeader(name: "weir.seq", string: "2")])
        c.close()
    }
}
