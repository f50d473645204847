import ArgumentParser
import Foundation
import WeirRuntime

/// `weir generate`: seeded synthetic events for `topologies/card-fraud.yaml`.
struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Write seeded synthetic card transactions (JSONL) for topologies/card-fraud.yaml, optionally with drift.",
        discussion: "From event --drift-at on, amounts grow, the merchant mix reverses, new merchants appear and the label rule flips (concept drift). device_age_days never drifts."
    )

    @Option(help: "Number of events.") var count = 100_000
    @Option(help: "Index of the first drifted event (none by default).") var driftAt: Int?
    @Option(help: "Random seed.") var seed: UInt64 = 42
    @Option(help: "Number of distinct users.") var users = 2_000
    @Option(help: "Output file (default: stdout).") var output: String?

    func validate() throws {
        guard count >= 0 else { throw ValidationError("--count must not be negative") }
        guard users >= 1 else { throw ValidationError("--users must be at least 1") }
        if let d = driftAt, d < 0 { throw ValidationError("--drift-at must not be negative") }
    }

    func run() throws {
        let gen = CardFraudGenerator(seed: seed, users: users, driftAt: driftAt)
        let out: FileHandle
        if let output {
            FileManager.default.createFile(atPath: output, contents: nil)
            guard let h = FileHandle(forWritingAtPath: output) else { throw ValidationError("cannot write \(output)") }
            out = h
        } else {
            out = .standardOutput
        }
        var buf = [UInt8]()
        buf.reserveCapacity(1 << 20)
        for i in 0..<count {
            buf.append(contentsOf: gen.event(i).utf8)
            buf.append(0x0A)
            if buf.count > 1 << 20 { out.write(Data(buf)); buf.removeAll(keepingCapacity: true) }
        }
        out.write(Data(buf))
        if output != nil { try out.close() }
    }
}
