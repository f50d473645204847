import ArgumentParser
import Foundation
import Logging
import WeirService
import WeirTopology

/// `weir dashboard`: a read-only web page of a topology's drift, alerts, retrain requests and
/// model decisions, rebuilt from its sink topics at every start.
struct DashboardCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dashboard",
        abstract: "Serve a live drift dashboard built from a topology's sink topics (drift, alerts, retrain, models, scores).",
        discussion: """
            Reads the sink topics from the beginning with a consumer of its own (manual assignment: \
            no consumer group, no commits; the scores topic from its newest 50,000 records per \
            partition), keeps the newest --windows windows per monitor, measures the consumer lag \
            of the run's group (--group, as `weir run`'s --group-id; its committed offsets are read \
            without joining it), and serves \
            the page and its JSON API on --host:--port (loopback by default). Prints the URL on the \
            first line of stdout. Stops on SIGINT or SIGTERM. See docs/dashboard.md.
            """
    )

    @Argument(help: "The topology file whose sink topics to show.") var topology: String
    @Option(help: "Kafka bootstrap servers (HOST:PORT[,HOST:PORT…]).") var brokers: String
    @Option(help: "Port to serve on (0: any free port).") var port: Int = 8765
    @Option(help: "Address to bind (default loopback only).") var host: String = "127.0.0.1"
    @Option(help: "Windows kept per monitor (the newest).") var windows: Int = 2_000
    @Option(help: "Consumer group of the `weir run` instances whose lag to show (default: weir-<topology name>, as `weir run`).")
    var group: String?

    func validate() throws {
        guard (0...65_535).contains(port) else { throw ValidationError("--port must be between 0 and 65535, got \(port)") }
        guard windows > 0 else { throw ValidationError("--windows must be positive, got \(windows)") }
    }

    func run() async throws {
        let compiled = try loadTopology(topology)
        let config = Self.configuration(for: compiled.spec, topologyPath: topology, brokers: brokers, host: host, port: port, windows: windows,
                                        group: group)
        var logger = Logger(label: "weir.dashboard")
        logger.logLevel = .info
        let store = DashboardStore(configuration: config)
        let reader = DashboardReader(store: store, logger: logger)
        let running: DashboardServer.Running
        do {
            running = try await DashboardServer.start(store: store, host: config.host, port: config.port, logger: logger)
        } catch {
            FileHandle.standardError.write(Data("weir dashboard: \(error)\n".utf8))
            throw ExitCode(1)
        }
        reader.start()
        FileHandle.standardOutput.write(Data((running.url + "\n").utf8))
        FileHandle.standardError.write(Data("weir dashboard: \(compiled.spec.name) at \(running.url) (Kafka \(brokers)); Ctrl-C to stop\n".utf8))
        let stop = StopFlag()
        stop.installSignalHandlers()
        let signal = await stop.waitForTermination()
        reader.stop()
        running.task.cancel()
        FileHandle.standardError.write(Data("weir dashboard: stopped on \(signal)\n".utf8))
    }

    /// The dashboard's configuration from a topology: its sink topics, its source topic and the
    /// run's consumer group (nil: `weir run`'s default, `weir-<topology name>`), the gate's thresholds.
    static func configuration(for spec: TopologySpec, topologyPath: String, brokers: String, host: String, port: Int,
                              windows: Int, group: String?) -> DashboardConfiguration {
        let s = spec.sinks
        var c = DashboardConfiguration(
            topology: spec.name, brokers: brokers,
            topics: DashboardTopics(drift: s.isEnabled(SinkKind.drift) ? s.drift : "", alerts: s.isEnabled(SinkKind.alerts) ? s.alerts : "",
                                    retrain: s.isEnabled(SinkKind.retrain) ? s.retrain : "", models: s.isEnabled(SinkKind.models) ? s.models : "",
                                    scores: spec.model != nil && s.isEnabled(SinkKind.scores) ? s.scores : ""))
        c.host = host
        c.port = port
        c.sourceTopic = spec.source.topics.first ?? ""
        c.group = group ?? RunCommand.defaultGroupID(spec)
        c.limits = DashboardState.Limits(windowsPerMonitor: windows)
        if let g = spec.drift?.gate {
            c.thresholds = DashboardThresholds(psi: g.psi, ksPValue: g.ksPValue, ksMinStatistic: g.ksMinStatistic, chi2PValue: g.chi2PValue)
        }
        return c
    }
}
