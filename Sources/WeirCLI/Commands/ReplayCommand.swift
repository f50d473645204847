import ArgumentParser
import Foundation
import WeirRuntime
import WeirTopology

/// `weir replay`: a topology on a JSONL file, outputs as JSONL files, no Kafka.
struct ReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Run a topology over a JSONL file of events, writing each output to <output-dir>/<kind>.jsonl.",
        discussion: "Outputs: scores.jsonl, windows.jsonl, late.jsonl, models.jsonl and dlq.jsonl (bad lines, with the line's offset = line number - 1). No Kafka is involved: use it for backtests and offline checks."
    )

    @Argument(help: "The topology file (YAML).") var topology: String
    @Option(help: "The input file, one JSON event per line.") var input: String
    @Option(help: "Directory for the output files (created).") var outputDir: String
    @Flag(help: "Fire windows still open at the end of the input.") var flushAtEnd = false

    func run() throws {
        let spec: TopologySpec
        do {
            spec = try TopologyLoader.load(path: topology)
        } catch {
            FileHandle.standardError.write(Data((error.description + "\n").utf8))
            throw ExitCode(1)
        }
        let compiled: CompiledTopology
        do {
            compiled = try TopologyCompiler.compile(spec)
        } catch {
            FileHandle.standardError.write(Data((error.description + "\n").utf8))
            throw ExitCode(1)
        }
        var sink = try JSONLDirectorySink(directory: outputDir)
        let start = Date()
        let pipeline: Pipeline
        do {
            var runner = ReplayRunner(flushAtEnd: flushAtEnd)
            runner.onCalibration = { FileHandle.standardError.write(Data(("weir replay: gate.calibrate: " + $0 + "\n").utf8)) }
            pipeline = try runner.run(compiled, input: input, into: &sink)
        } catch let e as ProfileReferenceError {
            FileHandle.standardError.write(Data((e.description + "\n").utf8))
            throw ExitCode(1)
        }
        try sink.close()
        let secs = Date().timeIntervalSince(start)
        let c = pipeline.counters
        var summary = "weir replay: \(c.records + c.deadLetters) events in \(String(format: "%.2f", secs)) s "
            + "(\(Int(Double(c.records + c.deadLetters) / max(secs, 1e-9))) events/s): \(c.records) valid, \(c.deadLetters) dead letters, "
            + "\(c.scored) scored (\(c.labelled) labelled), \(c.windowResults) window results, \(c.lateEvents) late"
        if let m = pipeline.model {
            summary += "; prequential " + m.metricsSummary
        }
        let rejected = pipeline.graph.windows.reduce(0) { $0 + $1.stats.rejectedKeyEvents }
        if rejected > 0 {
            summary += "; \(rejected) window updates of new keys refused (processing.max_keys"
                + (pipeline.stateBudget.map { " or state.memory_limit: " + $0.summary } ?? "") + ")"
        } else if let b = pipeline.stateBudget {
            summary += "; " + b.summary
        }
        FileHandle.standardError.write(Data((summary + "\n").utf8))

    }
}
