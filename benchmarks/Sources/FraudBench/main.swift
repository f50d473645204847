// FraudBench: issue 7's end-to-end benchmark. The workload contract of ../shared/bench/README.md
// (benchmarks/fraud-contract.yaml) through Kafka: N events pre-loaded into the uncapped mock
// broker (4 partitions), `weir run --stop-at-end` from the earliest offset, and, in the same run,
// kcat's raw read, the Python peers (plain confluent-kafka + River, Quix Streams + River) and
// `weir replay` vs the in-memory River peer. Prints events/s, ratios, peak RSS, output checks and
// PASS/FAIL per target. See benchmarks/README.md for the options.
import BenchSupport
import Foundation

var opts: Options
do { opts = try Options.parse(Array(CommandLine.arguments.dropFirst())) } catch {
    log("FraudBench: \(error)\n\n\(Options.usage)")
    exit(2)
}

func requireFile(_ path: String, _ what: String) throws {
    guard FileManager.default.fileExists(atPath: path) else { throw BenchError.missing("\(what) not found at \(path)") }
}

do {
    try requireFile(opts.weir, "the release weir binary (swift build -c release --product weir; or pass --weir PATH)")
    try requireFile(opts.brokerBinary, "the mock broker (bash ../shared/bench/setup.sh)")
    try requireFile(opts.kcat, "kcat")
    try requireFile(opts.python, "the bench venv's python (bash ../shared/bench/setup.sh)")
    try requireFile(opts.topology, "the contract topology")
    if !FileManager.default.fileExists(atPath: opts.events) {
        log("generating \(opts.events) ...")
        try? FileManager.default.createDirectory(atPath: (opts.events as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let g = try runChild(opts.python, ["\(opts.shared)/gen_events.py", "\(opts.n)", opts.events], keepStdout: false)
        guard g.status == 0 else { throw BenchError.failed("gen_events.py failed: \(g.stderr)") }
    }
} catch {
    log("FraudBench: \(error)")
    exit(1)
}

// The contract's reference is the first 20% of the events: scale the topology for other N.
if opts.n != 1_000_000 {
    let text = try String(contentsOfFile: opts.topology, encoding: .utf8)
    let scaled = text.replacingOccurrences(of: "reference: {first_events: 200000}", with: "reference: {first_events: \(opts.n / 5)}")
    guard scaled != text else { log("FraudBench: cannot scale the reference in \(opts.topology)"); exit(1) }
    let path = "\(scratch)/fraud-contract-\(opts.n).yaml"
    try scaled.write(toFile: path, atomically: true, encoding: .utf8)
    opts.topology = path
}

let started = Date()
let iso = ISO8601DateFormatter()
print("FraudBench (issue 7): the workload contract end to end through Kafka, N = \(opts.n)")
print("  date \(iso.string(from: started)), load average \(loadAverage()), \(ProcessInfo.processInfo.activeProcessorCount) cores")
print("  weir \(opts.weir) (built \(fileDate(opts.weir)))")
print("  events \(opts.events) (\(fileSize(opts.events)) bytes), topology \(opts.topology)")
print("  participants: weir run [\(opts.variants.map(\.name).joined(separator: ", "))], \(opts.peers.sorted().joined(separator: ", ")); \(opts.runs) run(s)")

var bench = FraudBench(opts: opts)
do {
    try bench.setUp()
    for run in 1...opts.runs { try bench.measure(run: run) }
    bench.report()
} catch {
    log("FraudBench: \(error)")
    bench.broker?.stop()
    exit(1)
}
bench.broker?.stop()
try? FileManager.default.removeItem(atPath: scratch)

func fileDate(_ path: String) -> String {
    guard let d = (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date else { return "?" }
    return ISO8601DateFormatter().string(from: d)
}

func fileSize(_ path: String) -> Int {
    ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.intValue ?? 0
}
