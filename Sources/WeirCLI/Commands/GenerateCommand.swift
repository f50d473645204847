import ArgumentParser
import Foundation
import WeirJSON
import WeirRuntime

/// `weir generate`: seeded synthetic events for a topology's schema (card transactions for
/// `topologies/card-fraud.yaml` by default).
struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Write seeded synthetic events (JSONL) for a topology's schema, optionally with drift.",
        discussion: """
        Without --topology: card transactions for topologies/card-fraud.yaml; from event --drift-at on, amounts grow, the merchant mix reverses, new merchants appear and the label rule flips (concept drift); device_age_days never drifts.
        With --topology FILE: events for that file's schema (bounds, categories, key and event-time fields, label field); from --drift-at on, numeric fields shift by --shift standard deviations (except the first, a control), category weights reverse and the label rule flips.
        Publish with `weir produce FILE --topic T`.
        """
    )

    @Option(help: "Generate for this topology's schema instead of the card-fraud demo.") var topology: String?
    @Option(help: "With --topology: drift size in standard deviations.") var shift = 1.5

    @Option(help: "Number of events.") var count = 100_000
    @Option(help: "Index of the first drifted event (none by default).") var driftAt: Int?
    @Option(help: "Random seed.") var seed: UInt64 = 42
    @Option(name: [.customLong("keys"), .customLong("users")],
            help: "Number of distinct keys (card-fraud users; the topology's key field). --users is the older name.")
    var keys = 2_000
    @Option(help: "Events per second of event time (default 100, one every 10 ms; with --topology at most 1000). A higher rate puts more keys in each window.")
    var rate = 100.0
    @Option(help: "Output file (default: stdout).") var output: String?

    func validate() throws {
        guard count >= 0 else { throw ValidationError("--count must not be negative") }
        guard keys >= 1 else { throw ValidationError("--keys must be at least 1") }
        if let d = driftAt, d < 0 { throw ValidationError("--drift-at must not be negative") }
        guard rate > 0, rate.isFinite else { throw ValidationError("--rate must be positive") }
        if topology != nil && rate > 1000 { throw ValidationError("--rate above 1000 needs the card-fraud generator (no --topology)") }
    }

    func run() throws {
        let write: (Int, inout JSONWriter) -> Void
        if let topology {
            let spec = try loadTopology(topology).spec
            let gen = SchemaEventGenerator(spec: spec, seed: seed, driftAt: driftAt, shift: shift, keys: keys,
                                           stepMs: Int64((1000 / rate).rounded()))
            write = gen.write
        } else {
            var gen = CardFraudGenerator(seed: seed, users: keys, driftAt: driftAt)
            gen.eventsPerSecond = rate
            write = gen.write
        }
        let out: FileHandle
        if let output {
            FileManager.default.createFile(atPath: output, contents: nil)
            guard let h = FileHandle(forWritingAtPath: output) else { throw ValidationError("cannot write \(output)") }
            out = h
        } else {
            out = .standardOutput
        }
        var json = JSONWriter(capacity: 256)
        var buf = [UInt8]()
        buf.reserveCapacity(1 << 20)
        for i in 0..<count {
            json.reset()
            write(i, &json)
            buf.append(contentsOf: json.bytes)
            buf.append(0x0A)
            if buf.count > 1 << 20 { out.write(Data(buf)); buf.removeAll(keepingCapacity: true) }
        }
        out.write(Data(buf))
        if output != nil { try out.close() }
    }
}
