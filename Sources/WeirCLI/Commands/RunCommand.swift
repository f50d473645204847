import ArgumentParser
import Foundation
import Logging
import WeirKafka
import WeirRuntime
import WeirTopology

/// `weir run`: the deployed consumer.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a topology as a Kafka consumer: read the source topic, write scores, windows, drift, alerts, retrain requests, model decisions and dead letters to the sink topics.",
        discussion: "Processing is at least once: offsets are committed only after the outputs they caused are acknowledged. Progress goes to stderr once a second."
    )

    @Argument(help: "The topology file (YAML).") var topology: String
    @Option(help: "Bootstrap servers, HOST:PORT[,HOST:PORT...].") var brokers: String?
    @Flag(help: "Run on an in-process embedded broker instead (the source topic is created with 4 partitions).") var embedded = false
    @Option(help: "Consumer group id (default: weir-<topology name>).") var groupID: String?
    @Option(help: "Where a new group starts: earliest or latest.") var from: String = "earliest"
    @Flag(help: "Exit 0 once every assigned partition is consumed to its end and all outputs are flushed.") var stopAtEnd = false
    @Option(name: .customShort("X"), help: "A librdkafka property, as name=value (repeatable).") var properties: [String] = []

    func validate() throws {
        if brokers == nil && !embedded { throw ValidationError("give --brokers HOST:PORT, or --embedded") }
        if OffsetResetPolicy(rawValue: from) == nil || from == "fail" { throw ValidationError("--from must be earliest or latest, got '\(from)'") }
        for p in properties where !p.contains("=") { throw ValidationError("-X \(p): expected name=value") }
    }

    func run() throws {
        let compiled = try loadTopology(topology)
        var broker: EmbeddedBroker?
        var bootstrap = brokers ?? ""
        if embedded {
            let b = try EmbeddedBroker()
            for t in compiled.spec.source.topics { try b.createTopic(t, partitions: 4) }
            bootstrap = b.bootstrapServers
            broker = b
            FileHandle.standardError.write(Data("weir run: embedded broker at \(bootstrap)\n".utf8))
        }
        var options = KafkaRunner.Options(brokers: bootstrap, groupID: groupID ?? "weir-\(compiled.spec.name)")
        options.from = OffsetResetPolicy(rawValue: from)!
        options.stopAtEnd = stopAtEnd
        for p in properties {
            let parts = p.split(separator: "=", maxSplits: 1)
            options.properties[String(parts[0])] = parts.count > 1 ? String(parts[1]) : ""
        }
        var runner = KafkaRunner(options: options, embedded: broker)
        let stop = StopFlag()
        stop.installSignalHandlers()
        runner.shouldStop = { stop.isSet }
        var last: RunProgress?
        runner.onProgress = { p in
            last = p
            FileHandle.standardError.write(Data((progressLine(p) + "\n").utf8))
        }
        let pipeline = try runner.run(compiled)
        let total = pipeline.counters.records + pipeline.counters.deadLetters
        let active = last?.activeSeconds ?? 0
        FileHandle.standardError.write(Data(String(
            format: "weir run: done, %d events in %.3f s from the first event to the last output flushed (%.0f events/s)\n",
            total, active, active > 0 ? Double(total) / active : 0).utf8))
    }
}

/// Loads and compiles a topology, printing every problem and exiting 1 on error.
func loadTopology(_ path: String) throws -> CompiledTopology {
    do {
        return try TopologyCompiler.compile(try TopologyLoader.load(path: path))
    } catch {
        FileHandle.standardError.write(Data((error.description + "\n").utf8))
        throw ExitCode(1)
    }
}

func progressLine(_ p: RunProgress) -> String {
    let c = p.counters
    var s = String(format: "[%6.1fs] %d events (%.0f/s), %d dead letters, %d scored, %d drift records (%d drifted), %d alerts, %d retrain requests, %d model decisions",
                   p.seconds, p.events, Double(p.events) / max(p.seconds, 1e-9), c.deadLetters, c.scored, c.driftRecords, c.driftedRecords,
                   c.alerts, c.retrainRequests, c.modelDecisions)
    if let l = p.logLoss, let a = p.accuracy { s += String(format: ", log loss %.4f, accuracy %.4f", l, a) }
    return s
}
