import Foundation

/// A `weir run` configuration to compare: extra arguments, and optionally another topology.
struct Variant {
    var name: String
    var topology: String?
    var args: [String]
}

/// Command-line options (see `Options.usage`).
struct Options {
    var n = 1_000_000
    var runs = 1
    var weir: String
    var topology: String
    var shared: String
    var events: String
    var brokerBinary = "/tmp/bench-bin/mock_broker"
    var kcat = "/usr/bin/kcat"
    var python = "/tmp/bench-venv/bin/python"
    var peers: Set<String> = ["kcat", "plain", "quix", "replay", "mem"]
    var variants = [Variant(name: "weir run", topology: nil, args: [])]
    var load = "python"

    static let allPeers: Set<String> = ["kcat", "plain", "quix", "replay", "mem"]

    static let usage = """
        usage: FraudBench [--n N] [--runs R] [--weir PATH] [--peers kcat,plain,quix,replay,mem | none]
                          [--variants 'name=[topology.yaml] args...;name2=...'] [--load weir|python]
                          [--events FILE] [--shared DIR]
          --n         events (default 1000000; file /tmp/bench-data/events-N.jsonl, generated if missing)
          --runs      repeat every participant R times against the same loaded topic (default 1)
          --weir      the release weir binary (default ../.build/release/weir relative to benchmarks/)
          --peers     which peers run beside weir run (default all; quix takes ~150 s at 1M)
          --variants  weir run configurations, each a fresh consumer group; args are appended to
                      `weir run TOPOLOGY --brokers BS --stop-at-end --group-id G`, a first argument
                      ending in .yaml replaces the topology (default: one variant, no extra args)
          --load      load the topic with ../shared/bench/load_events.py (default: the peers' loader, small
                      batches) or `weir produce` (faster; its ~9,000-message batches make every
                      consumer read coarser runs per partition, which moves drift windows and log loss)
        """

    init() {
        // benchmarks/Sources/FraudBench/Options.swift -> benchmarks/
        let bench = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let root = bench.deletingLastPathComponent()
        weir = root.appendingPathComponent(".build/release/weir").path
        topology = bench.appendingPathComponent("fraud-contract.yaml").path
        let sibling = root.deletingLastPathComponent().appendingPathComponent("shared/bench").path
        shared = FileManager.default.fileExists(atPath: sibling) ? sibling : "/work/shared/bench"
        events = ""
    }

    static func parse(_ args: [String]) throws -> Options {
        var o = Options()
        var events: String?
        var i = 0
        func value() throws -> String {
            i += 1
            guard i < args.count else { throw BenchError.failed("\(args[i - 1]) needs a value") }
            return args[i]
        }
        while i < args.count {
            switch args[i] {
            case "--n": guard let n = Int(try value()), n > 0 else { throw BenchError.failed("--n: a positive integer") }; o.n = n
            case "--runs": guard let r = Int(try value()), r > 0 else { throw BenchError.failed("--runs: a positive integer") }; o.runs = r
            case "--weir": o.weir = try value()
            case "--events": events = try value()
            case "--shared": o.shared = try value()
            case "--load":
                o.load = try value()
                guard ["weir", "python"].contains(o.load) else { throw BenchError.failed("--load: weir or python") }
            case "--peers":
                let v = try value()
                o.peers = v == "none" ? [] : Set(v.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) })
                let unknown = o.peers.subtracting(allPeers)
                guard unknown.isEmpty else { throw BenchError.failed("--peers: unknown \(unknown.sorted()); allowed \(allPeers.sorted())") }
            case "--variants": o.variants = try parseVariants(try value())
            case "-h", "--help": print(usage); exit(0)
            default: throw BenchError.failed("unknown option \(args[i])")
            }
            i += 1
        }
        o.events = events ?? "/tmp/bench-data/events-\(o.n).jsonl"
        return o
    }

    static func parseVariants(_ text: String) throws -> [Variant] {
        let parts = text.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard !parts.isEmpty else { throw BenchError.failed("--variants: at least one name=args") }
        return try parts.map { p in
            guard let eq = p.firstIndex(of: "=") else { throw BenchError.failed("--variants: '\(p)' is not name=args") }
            let name = p[..<eq].trimmingCharacters(in: .whitespaces)
            var args = p[p.index(after: eq)...].split(separator: " ").map(String.init)
            var topology: String?
            if let first = args.first, first.hasSuffix(".yaml") || first.hasSuffix(".yml") {
                topology = first
                args.removeFirst()
            }
            guard !name.isEmpty else { throw BenchError.failed("--variants: empty name in '\(p)'") }
            return Variant(name: name, topology: topology, args: args)
        }
    }
}
