import ArgumentParser
import Foundation
import Logging
import WeirKafka
import WeirRuntime
import WeirService
import WeirTopology

/// `weir run`: the deployed consumer.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a topology as a Kafka consumer: read the source topic, write scores, windows, drift, alerts, retrain requests, model decisions and dead letters to the sink topics.",
        discussion: "Every checkpoint interval (default 1 s) the state and the source offsets it covers are checkpointed to <topology>.changelog after the outputs are acknowledged (at least once) or in one transaction with them (exactly once); a restart resumes from the newest checkpoint. SIGINT/SIGTERM checkpoint and exit 0; a fenced instance exits 2. Progress goes to stderr once a second. See docs/fault-tolerance.md."
    )

    @Argument(help: "The topology file (YAML).") var topology: String
    @Option(help: "Bootstrap servers, HOST:PORT[,HOST:PORT...]. Also WEIR_BROKERS.") var brokers: String?
    @Flag(help: "Run on an in-process embedded broker instead (the source topic, and the model's label topic if any, are created with 4 partitions).") var embedded = false
    @Option(help: "Consumer group id (default: weir-<topology name>). Also WEIR_GROUP_ID.") var groupID: String?
    @Option(help: "Where a new group starts: earliest (default) or latest. Also WEIR_FROM.") var from: String?
    @Flag(help: "Exit 0 once every assigned partition is consumed to its end and all outputs are flushed.") var stopAtEnd = false
    @Flag(help: "Partitioned mode (docs/scaling.md): instances of this group split the source partitions, one of them runs the global stage (model, drift, gate). Give it to every instance of the group.") var partitioned = false
    @Option(help: "With --partitioned: how often at most (ms) the global stage broadcasts the model's weights (default 100).") var weightsIntervalMs: Int?
    @Option(help: "With --partitioned: how many source offsets a task may run ahead of what the newest weights covered of its partition before it pauses (default 8192; larger: faster catch-up of a backlog, staler scores).") var weightsMaxLead: Int?
    @Option(help: "With --partitioned: most bytes of the tasks' batches the global stage holds while it merges them before it pauses the partitions of <name>.global holding them (default 268435456 = 256 MiB; gauge weir_global_held_bytes).") var globalMaxHeldBytes: Int?
    @Option(help: "Overrides the topology's source.order: arrival (as fetched) or timestamp (partitions merged by message timestamp).")
    var order: SourceOrder?
    @Option(name: .customShort("X"), help: "A librdkafka property, as name=value (repeatable); name_file=PATH reads the value from a file. Also WEIR_KAFKA_<NAME>[_FILE]. Secrets belong in files or the environment, not here.") var properties: [String] = []
    @OptionGroup(title: "Operations") var operations: OperationsOptions
    @OptionGroup(title: "Checkpoints and guarantees") var faultTolerance: FaultToleranceOptions

    /// The consumer group when none is given: `weir-<topology name>` (`weir dashboard --group` defaults to it too).
    static func defaultGroupID(_ spec: TopologySpec) -> String { "weir-\(spec.name)" }

    func validate() throws {
        for p in properties where !p.contains("=") { throw ValidationError("-X \(p): expected name=value") }
        if let held = globalMaxHeldBytes, held < 1 { throw ValidationError("--global-max-held-bytes \(held): expected a positive number of bytes") }
    }

    func run() throws {
        // [ops] flags > WEIR_* environment > config file; logging, metrics and probes.
        var ops = try Operations(operations, brokers: brokers, groupID: groupID, from: from, properties: properties)
        let config = ops.configuration
        if config.brokers == nil && !embedded {
            ops.logger.error("give --brokers HOST:PORT (or WEIR_BROKERS, or brokers: in the config file), or --embedded")
            throw ExitCode(2)
        }
        let compiled = try ops.loadTopology(topology)
        try ops.startEndpoint()
        var broker: EmbeddedBroker?
        var bootstrap = config.brokers ?? ""
        if embedded {
            let b = try EmbeddedBroker()
            for t in compiled.spec.source.topics { try b.createTopic(t, partitions: 4) }
            if let labels = compiled.spec.model?.labelTopic { try b.createTopic(labels, partitions: 4) }
            bootstrap = b.bootstrapServers
            broker = b
            ops.report("weir run: embedded broker at \(bootstrap)")
        }
        var options = KafkaRunner.Options(brokers: bootstrap, groupID: config.groupID ?? Self.defaultGroupID(compiled.spec))
        options.from = OffsetResetPolicy(rawValue: config.from)!
        options.stopAtEnd = stopAtEnd
        options.partitioned = partitioned
        if let ms = weightsIntervalMs { options.weightsInterval = .milliseconds(max(1, ms)) }
        if let lead = weightsMaxLead { options.weightsMaxLead = Int64(max(1, lead)) }
        if let held = globalMaxHeldBytes { options.globalMaxHeldBytes = held }
        options.order = order
        options.properties = config.kafkaProperties
        faultTolerance.apply(to: &options)
        var runner = KafkaRunner(options: options, logger: ops.logger, embedded: broker)
        runner.status = ops.status
        if ops.endpoint != nil { runner.serving = ops.serving }  // [serving]
        runner.metrics = ops.metrics(for: compiled)
        let stop = StopFlag()
        stop.installSignalHandlers()
        runner.shouldStop = { stop.isSet }
        var last: RunProgress?
        runner.onProgress = { p in
            last = p
            ops.report(progressLine(p))
        }
        let pipeline = try ops.logErrors { try runReportingFatal { try runner.run(compiled) } }
        let total = pipeline.counters.records + pipeline.counters.deadLetters
        let active = last?.activeSeconds ?? 0
        ops.report(String(
            format: "weir run: done, %d events in %.3f s from the first event to the last output flushed (%.0f events/s)",
            total, active, active > 0 ? Double(total) / active : 0))
        // [serving] How long requests waited for the run loop (the engine's share of their latency).
        if ops.endpoint != nil, ops.serving.waitStats.count > 0 { ops.report("weir run: serving, \(ops.serving.waitStats.summary)") }
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
    if let m = p.modelSummary { s += ", " + m }
    return s
}

extension SourceOrder: ExpressibleByArgument {}
