import Foundation
import WeirKafka
@testable import WeirRuntime

/// Every record (value and headers) of `partitions` partitions of `topic`, read uncommitted (the
/// embedded broker does not enforce transactions anyway) by a consumer that never joins its group.
func topicRecords(_ broker: EmbeddedBroker, _ topic: String, partitions: Int32 = 1) throws -> [(value: String, headers: [String: String])] {
    let client = KafkaConfiguration(bootstrapServers: broker.bootstrapServers, clientID: "test-reader")
    let reader = try KafkaConsumer(configuration: ConsumerConfiguration(client: client, groupID: "test-reader", isolation: .readUncommitted))
    defer {
        try? reader.assign([])  // a consumer closed with partitions assigned waits for them (KafkaConsumer.close)
        reader.close()
    }
    var out: [(String, [String: String])] = []
    for p in 0..<partitions {
        let high = try reader.watermarks(TopicPartition(topic: topic, partition: p)).high
        try reader.assign([TopicPartitionOffset(topic: topic, partition: p, offset: TopicPartitionOffset.beginning)])
        var next: Int64 = 0
        let until = Date().addingTimeInterval(20)
        while next < high && Date() < until {
            try reader.poll(timeout: .milliseconds(200)) { m in
                next = m.offset + 1
                var h: [String: String] = [:]
                for x in m.headers { h[x.name] = x.value.map { String(decoding: $0, as: UTF8.self) } ?? "" }
                out.append((m.value.map { String(decoding: $0, as: UTF8.self) } ?? "", h))
            }
        }
    }
    return out
}
