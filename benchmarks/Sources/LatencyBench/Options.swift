import Foundation

/// One `weir run` configuration to measure: its name in the report and its extra arguments.
struct Variant {
    var name: String
    var args: [String]
    /// Exactly-once: outputs become visible to a `read_committed` consumer at the commit.
    var exactlyOnce: Bool { args.contains("exactly_once") }
    /// Checkpoints are written (so commit records appear in `<topology>.changelog`).
    var checkpointed: Bool { !(args.contains("--checkpoints") && args.contains("none")) }
}

/// Command-line options (see `Options.usage`).
struct Options {
    var weir = "/work/main/.build/release/weir"
    /// nil: benchmarks/fraud-contract.yaml with its scores sink enabled (see `scoresTopology`).
    var topology: String?
    let contract: String
    var events = "/tmp/bench-data/events-1000000.jsonl"
    var brokerBinary = "/tmp/bench-bin/mock_broker"
    var outputTopic = "scores"
    var rate = 100_000.0
    var warmupSeconds = 5.0
    var seconds = 20.0
    var runs = 1
    var lingerMs = 5
    var timeline = false
    /// `fetch.wait.max.ms` for weir's consumer (`-X`) and the reader; nil leaves weir's default (500).
    var fetchWaitMs: Int? = 1
    var variants = Options.defaultVariants

    static let defaultVariants = [
        Variant(name: "no checkpoints", args: ["--checkpoints", "none"]),
        Variant(name: "at-least-once 1 s", args: ["--guarantee", "at_least_once", "--checkpoint-interval", "1000"]),
        Variant(name: "exactly-once 1 s", args: ["--guarantee", "exactly_once", "--checkpoint-interval", "1000"]),
    ]

    static let usage = """
        usage: LatencyBench [--weir PATH] [--rate EVENTS_PER_S] [--seconds S] [--warmup S] [--runs R]
                            [--variants 'name=args...;name2=args...'] [--topology FILE] [--output-topic T]
                            [--events FILE] [--broker PATH] [--linger-ms MS] [--fetch-wait-ms MS|default] [--timeline]
          --weir        release weir binary (default /work/main/.build/release/weir)
          --rate        paced input rate (default 100000 events/s)
          --seconds     measured seconds at that rate (default 20), after --warmup seconds (default 5)
          --runs        repeat every variant R times, each on a fresh broker (default 1)
          --variants    weir run configurations; args are appended to
                        `weir run TOPOLOGY --brokers BS --group-id G --metrics-port 0`
                        (default: no checkpoints; at-least-once 1 s; exactly-once 1 s)
          --topology    must read `events` and write one record per event with `partition` and
                        `offset` fields to --output-topic (default: benchmarks/fraud-contract.yaml with
                        `name: fraud-contract-scores` and `scores: scores`, written to a scratch file)
          --linger-ms   the input producer's linger.ms (default 5, librdkafka's default)
          --fetch-wait-ms  fetch.wait.max.ms of weir's consumer (passed as -X) and of the reader (default 1).
                        The mock broker answers a fetch that finds no data only after the full
                        fetch.wait.max.ms, even when data arrives meanwhile (rdkafka_mock_handlers.c);
                        a real broker answers as soon as data arrives. With weir's default (100 ms,
                        `--fetch-wait-ms default`) the mock adds 0-100 ms per empty fetch.
          --timeline    print per-second latency percentiles of every variant
        """

    init() {
        // benchmarks/Sources/LatencyBench/Options.swift -> benchmarks/
        let bench = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        contract = bench.appendingPathComponent("fraud-contract.yaml").path
        let release = bench.deletingLastPathComponent().appendingPathComponent(".build/release/weir").path
        if FileManager.default.fileExists(atPath: release) { weir = release }
    }

    static func parse(_ args: [String]) throws -> Options {
        var o = Options()
        var i = 0
        func value() throws -> String {
            i += 1
            guard i < args.count else { throw LatencyBenchError.usage("\(args[i - 1]) needs a value") }
            return args[i]
        }
        func positive(_ name: String) throws -> Double {
            guard let v = Double(try value()), v > 0 else { throw LatencyBenchError.usage("\(name): a positive number") }
            return v
        }
        while i < args.count {
            switch args[i] {
            case "--weir": o.weir = try value()
            case "--topology": o.topology = try value()
            case "--events": o.events = try value()
            case "--broker": o.brokerBinary = try value()
            case "--output-topic": o.outputTopic = try value()
            case "--rate": o.rate = try positive("--rate")
            case "--seconds": o.seconds = try positive("--seconds")
            case "--warmup":
                guard let v = Double(try value()), v >= 0 else { throw LatencyBenchError.usage("--warmup: a number >= 0") }
                o.warmupSeconds = v
            case "--runs": o.runs = Int(try positive("--runs"))
            case "--linger-ms":
                guard let v = Int(try value()), v >= 0 else { throw LatencyBenchError.usage("--linger-ms: an integer >= 0") }
                o.lingerMs = v
            case "--timeline": o.timeline = true
            case "--fetch-wait-ms":
                let v = try value()
                if v == "default" { o.fetchWaitMs = nil } else {
                    guard let n = Int(v), n >= 0 else { throw LatencyBenchError.usage("--fetch-wait-ms: an integer >= 0 or default") }
                    o.fetchWaitMs = n
                }
            case "--variants": o.variants = try parseVariants(try value())
            case "-h", "--help": print(usage); exit(0)
            default: throw LatencyBenchError.usage("unknown option \(args[i])")
            }
            i += 1
        }
        return o
    }

    static func parseVariants(_ text: String) throws -> [Variant] {
        let parts = text.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard !parts.isEmpty else { throw LatencyBenchError.usage("--variants: at least one name=args") }
        return try parts.map { p in
            guard let eq = p.firstIndex(of: "=") else { throw LatencyBenchError.usage("--variants: '\(p)' is not name=args") }
            let name = p[..<eq].trimmingCharacters(in: .whitespaces)
            guard !name.isEmpty else { throw LatencyBenchError.usage("--variants: empty name in '\(p)'") }
            return Variant(name: name, args: p[p.index(after: eq)...].split(separator: " ").map(String.init))
        }
    }
}

/// The contract topology with one score record per event: benchmarks/fraud-contract.yaml (whose
/// scores sink is disabled, as the contract publishes only drift, alerts and windows) renamed
/// `fraud-contract-scores`, with `scores: scores`. Derived at run time so it never drifts from
/// the contract file.
func scoresTopology(from contract: String, into dir: String) throws -> String {
    let text = try String(contentsOfFile: contract, encoding: .utf8)
    var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    guard let n = lines.firstIndex(where: { $0.hasPrefix("name:") }),
          let s = lines.firstIndex(where: { $0.trimmingCharacters(in: .whitespaces).hasPrefix("scores:") && $0.hasPrefix("  ") }) else {
        throw LatencyBenchError.failed("\(contract): no top-level name: or sinks.scores line to rewrite (pass --topology)")
    }
    lines[n] = "name: fraud-contract-scores"
    lines[s] = "  scores: scores"
    let out = "\(dir)/fraud-contract-scores.yaml"
    try lines.joined(separator: "\n").write(toFile: out, atomically: true, encoding: .utf8)
    return out
}

enum LatencyBenchError: Error, CustomStringConvertible {
    case usage(String)
    case failed(String)

    var description: String {
        switch self {
        case .usage(let s), .failed(let s): return s
        }
    }
}
