import Foundation
import Testing
import WeirTestSupport
@testable import WeirKafka

@Suite(.serialized, .timeLimit(.minutes(2)))
struct AdminAndInteropTests {
    @Test func embeddedBrokerCreatesListsAndRejectsUnsupportedRequests() throws {
        let broker = try EmbeddedBroker(brokers: 3)
        let admin = try KafkaAdmin(configuration: KafkaConfiguration(bootstrapServers: broker.bootstrapServers), embeddedBroker: broker)
        let res = try admin.createTopics([
            NewTopic(name: "a", partitions: 4, replicationFactor: 3),
            NewTopic(name: "models", partitions: 1, configs: ["cleanup.policy": "compact"]),
        ])
        #expect(res["a"] == .created)
        #expect(res["models"] == .createdIgnoringConfigs(["cleanup.policy"]))
        #expect(try admin.createTopics([NewTopic(name: "a", partitions: 4)])["a"] == .alreadyExists)
        let a = try #require(try admin.describeTopic("a"))
        #expect(a.partitions.map(\.id) == [0, 1, 2, 3])
        #expect(a.partitions.allSatisfy { $0.replicas.count == 3 })
        let start = ContinuousClock.now
        #expect(throws: KafkaError.unsupportedByEmbeddedBroker(operation: "DescribeConfigs")) {
            _ = try admin.describeTopicConfigs("a")
        }
        #expect(ContinuousClock.now - start < .seconds(1))
    }

    /// A standalone mock cluster (no embedded handle, e.g. `weir broker` or the benchmark broker)
    /// is recognised by its cluster id, so CreateTopics fails at once instead of waiting for the
    /// timeout (librdkafka waits for a controller that never answers CreateTopics).
    @Test func createTopicsOnAStandaloneMockFailsFast() throws {
        let broker = try EmbeddedBroker()
        let admin = try KafkaAdmin(configuration: KafkaConfiguration(bootstrapServers: broker.bootstrapServers))
        #expect(admin.isMockCluster())
        #expect(throws: KafkaError.unsupportedByEmbeddedBroker(operation: "CreateTopics")) {
            _ = try admin.createTopics([NewTopic(name: "x", partitions: 1)], timeout: .seconds(30))
        }
    }

    /// Messages produced by Weir are read back by kcat, and kcat's by Weir's consumer.
    @Test(.requires(.kcat))
    func interoperatesWithKcatBothWays() throws {
        let broker = try EmbeddedBroker()
        let topic = uniqueName("interop")
        try broker.createTopic(topic, partitions: 1)
        let p = try producer(broker)
        let t = try p.topic(topic)
        for i in 0..<500 {
            try p.send(to: t, key: Array("k\(i)".utf8), value: Array("v\(i)".utf8), headers: [KafkaHeader(name: "h", string: "x\(i)")])
        }
        try p.flush()
        let out = try run("kcat", ["-C", "-b", broker.bootstrapServers, "-t", topic, "-o", "beginning", "-e", "-q",
                                   "-f", "%k|%s|%h\\n"])
        let lines = out.split(separator: "\n").map(String.init)
        #expect(lines.count == 500)
        #expect(lines.first == "k0|v0|h=x0")
        #expect(lines.last == "k499|v499|h=x499")

        let topic2 = uniqueName("fromkcat")
        try broker.createTopic(topic2, partitions: 1)
        let input = (0..<300).map { "key\($0):value-\($0)" }.joined(separator: "\n") + "\n"
        try run("kcat", ["-P", "-b", broker.bootstrapServers, "-t", topic2, "-K", ":"], stdin: Data(input.utf8))
        let c = try consumer(broker, group: uniqueName("g"))
        try c.subscribe([topic2])
        var got: [Received] = []
        try pollUntil([c], { _, m in got.append(Received(m, withHeaders: false)) }, done: { got.count >= 300 })
        #expect(got.count == 300)
        #expect(got.enumerated().allSatisfy { i, r in r.key == Array("key\(i)".utf8) && r.value == Array("value-\(i)".utf8) })
        c.close()
    }
}
