import ArgumentParser
import Foundation
import WeirKafka
import Logging
import WeirRuntime
import WeirService
import WeirTopology

/// `weir demo`: everything on one machine, in under two minutes.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Start an embedded broker, publish synthetic card transactions with drift injected half-way, run topologies/card-fraud.yaml on them and print what happens.",
        discussion: "Outputs go to the card-fraud.* topics of the embedded broker, exactly as `weir run` writes them; the summary and the alerts are printed here."
    )

    /// The demo run's consumer group (its dashboard shows this group's lag).
    static let groupID = "weir-demo"

    @Option(help: "The topology to run.") var topology = "topologies/card-fraud.yaml"
    @Option(help: "Number of events to publish.") var events = 60_000
    @Option(help: "Random seed of the generator.") var seed: UInt64 = 42
    @Flag(help: "Serve the drift dashboard (as `weir dashboard`) on the embedded broker's topics, print its URL, and stay up after the run until Ctrl-C.")
    var dashboard = false
    @Option(help: "Port of the dashboard (0: any free port).") var dashboardPort = 8765

    func run() throws {
        let compiled = try loadTopology(topology)
        let source = compiled.spec.source.topics[0]
        let say = { (s: String) in FileHandle.standardOutput.write(Data((s + "\n").utf8)) }
        let broker = try EmbeddedBroker()
        try broker.createTopic(source, partitions: 4)
        say("Weir demo — embedded Kafka broker at \(broker.bootstrapServers)")
        let driftAt = events / 2
        let gen = CardFraudGenerator(seed: seed, driftAt: driftAt)
        do {
            let producer = try KafkaProducer(configuration: ProducerConfiguration(client: KafkaConfiguration(bootstrapServers: broker.bootstrapServers)))
            let topic = try producer.topic(source)
            for i in 0..<events {
                let line = Array(gen.event(i).utf8)
                let user = Self.field("user", in: line)
                try producer.send(to: topic, key: user, value: line)
            }
            try producer.flush()
        }
        var served: (DashboardReader, DashboardServer.Running)?
        if dashboard {
            let config = DashboardCommand.configuration(for: compiled.spec, topologyPath: topology, brokers: broker.bootstrapServers,
                                                        host: "127.0.0.1", port: dashboardPort, windows: 2_000,
                                                        group: Self.groupID)
            let store = DashboardStore(configuration: config)
            var logger = Logger(label: "weir.dashboard")
            logger.logLevel = .critical  // the sink topics appear during the run: no "missing topic" lines (the page shows them)
            let reader = DashboardReader(store: store, logger: logger)
            let running = try DashboardServer.startBlocking(store: store, host: config.host, port: config.port, logger: logger)
            reader.start()
            served = (reader, running)
            say("Dashboard: \(running.url)")
        }
        say("Published \(events) transactions to '\(source)' (4 partitions); drift injected from event \(driftAt): amounts ×1.8, merchant mix reversed, new merchants, label rule flipped.")
        say("Running \(topology) (\(compiled.spec.features.count) features, \(compiled.inputNames.count) model inputs, \(compiled.spec.drift?.monitors.count ?? 0) drift monitors)…\n")

        var options = KafkaRunner.Options(brokers: broker.bootstrapServers, groupID: Self.groupID)
        options.stopAtEnd = true
        options.maxDuration = .seconds(100)
        // The drift windows count events: in arrival order a partition fetched ahead would put
        // events from after the injection into a window before it (an alert "before" the drift).
        // Merged by message timestamp (the publish order above), every run sees the same windows.
        options.order = .timestamp
        var runner = KafkaRunner(options: options, embedded: broker)
        var lastShown = ""
        runner.onProgress = { p in
            // Show a line when something other than the clock changed.
            let c = p.counters
            let state = "\(p.events) \(c.driftRecords) \(c.alerts) \(c.modelDecisions)"
            if state != lastShown { say("  " + progressLine(p)); lastShown = state }
        }
        var alerts: [[String: Any]] = []
        runner.onOutput = { kind, bytes in
            guard let r = (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any] else { return }
            switch kind {
            case .alerts:
                alerts.append(r)
                say("  ALERT \(r["status"] ?? "") \(r["severity"] ?? ""): \(r["feature"] ?? "") drifted in window \(r["window"] ?? "") (\((r["reasons"] as? [String])?.joined(separator: ", ") ?? ""))")
            case .retrain:
                say("  RETRAIN REQUEST \(r["request_id"] ?? ""): \(r["reason"] ?? "")")
            case .models where r["type"] as? String == "model_version":
                if (r["version"] as? NSNumber)?.intValue ?? 1 > 1 { say("  MODEL v\(r["version"] ?? "") is now the champion (parent v\(r["parent_version"] ?? ""), \(r["reason"] ?? ""))") }
            case .models:
                say("  MODEL \(r["type"] ?? ""): champion v\(r["champion_version"] ?? "") vs challenger v\(r["challenger_version"] ?? "") (\(r["detail"] ?? ""))")
            default: break
            }
        }
        let pipeline = try runner.run(compiled)
        let c = pipeline.counters
        say("\nDone: \(c.records) events scored, \(c.driftRecords) drift records (\(c.driftedRecords) drifted), \(c.alerts) alerts, \(c.retrainRequests) retrain requests, \(c.modelDecisions) model decisions.")
        if let m = pipeline.model { say("Prequential \(m.metricsSummary) over \(c.labelled) labelled events.") }
        say("\nAlerts:")
        for a in alerts {
            let stats = a["statistics"] as? [String: Any] ?? [:]
            let psi = (stats["psi"] as? NSNumber).map { String(format: "%.3f", $0.doubleValue) } ?? "-"
            say("  \(a["alert_id"] ?? "") \(a["status"] ?? "") \(a["severity"] ?? "") feature=\(a["feature"] ?? "") window=\(a["window"] ?? "") psi=\(psi)")
        }
        say("\nRead them with any Kafka client, e.g. kcat -C -b <broker> -t \(compiled.spec.sinks.alerts) -e (the broker stops with this demo).")
        if let (reader, running) = served {
            say("Dashboard stays up at \(running.url); Ctrl-C to stop.")
            let stop = StopFlag()
            stop.installSignalHandlers()
            while !stop.isSet { Thread.sleep(forTimeInterval: 0.1) }
            reader.stop()
            running.task.cancel()
        }
        broker.stop()
    }

    /// The string value of a top-level field in a flat JSON line (the generator's own output).
    static func field(_ name: String, in line: [UInt8]) -> [UInt8]? {
        let tag = Array("\"\(name)\":\"".utf8)
        guard let r = line.firstRange(of: tag) else { return nil }
        guard let end = line[r.upperBound...].firstIndex(of: 0x22) else { return nil }
        return Array(line[r.upperBound..<end])
    }
}
