import Testing
@testable import WeirKafka

@Suite(.timeLimit(.minutes(1)))
struct ConfigurationTests {
    @Test func unknownPropertyNamesThePropertyAndLibrdkafkasReason() {
        let cfg = ProducerConfiguration(client: KafkaConfiguration(bootstrapServers: "127.0.0.1:9", properties: ["no.such.property": "1"]))
        do {
            _ = try KafkaProducer(configuration: cfg)
            Issue.record("expected an error")
        } catch {
            guard case let .invalidConfiguration(property, value, reason) = error else { Issue.record("got \(error)"); return }
            #expect(property == "no.such.property")
            #expect(value == "1")
            #expect(reason.contains("No such configuration property"))
        }
    }

    @Test func badValueNamesThePropertyAndReason() {
        let cfg = ConsumerConfiguration(client: KafkaConfiguration(bootstrapServers: "127.0.0.1:9", properties: ["fetch.min.bytes": "lots"]), groupID: "g")
        do {
            _ = try KafkaConsumer(configuration: cfg)
            Issue.record("expected an error")
        } catch {
            guard case let .invalidConfiguration(property, _, reason) = error else { Issue.record("got \(error)"); return }
            #expect(property == "fetch.min.bytes")
            #expect(!reason.isEmpty)
            #expect(error.description.contains("fetch.min.bytes"))
        }
    }

    @Test func conflictingPropertiesFailAtCreation() {
        // Idempotence requires acks=all; librdkafka refuses acks=1 with it.
        let cfg = ProducerConfiguration(client: KafkaConfiguration(bootstrapServers: "127.0.0.1:9", properties: ["acks": "1"]))
        #expect(throws: KafkaError.self) { _ = try KafkaProducer(configuration: cfg) }
    }

    /// An unreachable bootstrap address is a clear, bounded error, not a hang.
    @Test func unreachableBootstrapIsBoundedError() throws {
        let admin = try KafkaAdmin(configuration: KafkaConfiguration(bootstrapServers: "127.0.0.1:1"))
        let start = ContinuousClock.now
        #expect(throws: KafkaError.self) { _ = try admin.listTopics(timeout: .seconds(2)) }
        #expect(ContinuousClock.now - start < .seconds(10))

        let p = try KafkaProducer(configuration: ProducerConfiguration(
            client: KafkaConfiguration(bootstrapServers: "127.0.0.1:1"), deliveryTimeoutMs: 1500))
        var errors: [KafkaErrorCode?] = []
        p.onDelivery = { errors.append($0.error) }
        try p.send(to: try p.topic("t"), key: nil, value: [1])
        try p.flush(timeout: .seconds(10))
        #expect(p.counts.failed == 1)
        #expect(errors.count == 1 && errors[0] != nil)
    }

    @Test func secretsAreRedactedInDescriptions() {
        let cfg = KafkaConfiguration(bootstrapServers: "b:9092", securityProtocol: "sasl_ssl",
                                     sasl: .init(username: "svc", password: "hunter2-secret"),
                                     properties: ["ssl.key.password": "k3y"])
        #expect(!cfg.description.contains("hunter2-secret"))
        #expect(!cfg.description.contains("k3y"))
        #expect(cfg.description.contains("sasl.username=svc"))
        let err = KafkaError.invalidConfiguration(property: "sasl.password", value: "hunter2-secret", reason: "x")
        #expect(!err.description.contains("hunter2-secret"))
    }
}
