import Testing
import WeirKafka
@testable import WeirRuntime

/// The source consumer's librdkafka defaults, and that a user's `-X` / `kafka:` settings win.
@Suite struct SourceConsumerClientTests {
    @Test func defaultsApplyWhereTheUserSetsNothing() {
        let c = KafkaRunner.sourceConsumerClient(KafkaConfiguration(bootstrapServers: "b:9092", clientID: "x", properties: [:]))
        #expect(c.properties["fetch.wait.max.ms"] == "100")
        #expect(c.properties["consume.callback.max.messages"] == "2048")
        #expect(c.bootstrapServers == "b:9092")
    }

    @Test func userSettingsWin() {
        let user = ["fetch.wait.max.ms": "500", "consume.callback.max.messages": "64", "security.protocol": "ssl"]
        let c = KafkaRunner.sourceConsumerClient(KafkaConfiguration(bootstrapServers: "b:9092", clientID: "x", properties: user))
        #expect(c.properties == user)
    }
}
