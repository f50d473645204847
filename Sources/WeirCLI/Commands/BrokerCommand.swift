import ArgumentParser
import Foundation
import WeirKafka

/// `weir broker`: the embedded broker, standalone, on loopback.
struct BrokerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "broker",
        abstract: "Run the embedded Kafka broker (librdkafka's mock cluster) on loopback until interrupted.",
        discussion: """
            Prints the bootstrap address on the first line of stdout (and writes it to \
            --bootstrap-file), so kcat or any Kafka client can connect. Stops on SIGINT or SIGTERM.

            \(EmbeddedBroker.limitations)
            """
    )

    @Option(name: .customLong("broker-count"), help: "Number of brokers in the cluster.")
    var brokerCount: Int = 1

    @Option(name: .customLong("topic"), help: "Create a topic, as NAME or NAME:PARTITIONS (repeatable).")
    var topics: [String] = []

    @Option(help: "Write the bootstrap address to this file.")
    var bootstrapFile: String?

    func validate() throws {
        guard (1...16).contains(brokerCount) else { throw ValidationError("--broker-count must be between 1 and 16, got \(brokerCount)") }
        for t in topics { _ = try Self.parseTopic(t) }
    }

    static func parseTopic(_ spec: String) throws -> (String, Int32) {
        let parts = spec.split(separator: ":", omittingEmptySubsequences: false)
        guard let name = parts.first, !name.isEmpty, parts.count <= 2 else {
            throw ValidationError("--topic \(spec): expected NAME or NAME:PARTITIONS")
        }
        if parts.count == 1 { return (String(name), 1) }
        guard let n = Int32(parts[1]), n > 0 else {
            throw ValidationError("--topic \(spec): partitions must be a positive integer")
        }
        return (String(name), n)
    }

    func run() async throws {
        let broker = try EmbeddedBroker(brokers: brokerCount)
        for spec in topics {
            let (name, partitions) = try Self.parseTopic(spec)
            try broker.createTopic(name, partitions: partitions, replicationFactor: Int32(brokerCount))
        }
        if let bootstrapFile {
            try (broker.bootstrapServers + "\n").write(toFile: bootstrapFile, atomically: true, encoding: .utf8)
        }
        FileHandle.standardOutput.write(Data((broker.bootstrapServers + "\n").utf8))
        FileHandle.standardError.write(Data("weir broker: \(brokerCount) broker(s) at \(broker.bootstrapServers); Ctrl-C to stop\n".utf8))
        let stop = StopFlag()
        stop.installSignalHandlers()
        let signal = await stop.waitForTermination()
        broker.stop()
        FileHandle.standardError.write(Data("weir broker: stopped on \(signal)\n".utf8))
    }
}
