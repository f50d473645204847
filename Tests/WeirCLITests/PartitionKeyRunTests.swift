import Foundation
import Testing
import WeirTestSupport

/// The key rule of `weir run --partitioned` (docs/scaling.md, "Keys and partitions: the rule"),
/// end to end on a standalone `weir broker` (the setup of ``PartitionedRunTests``): a source keyed
/// by another field than `source.key`, or not keyed, is refused with an error naming the
/// partition, the offset and `source.key`, and nothing is written; one instance without
/// `--partitioned` reads the same topic to its end. (Correctly keyed sources:
/// ``PartitionedRunTests``.)
extension PartitionedRunTests {
    /// The error line of a refused run: `<topic> partition P offset O: ...`.
    static func keyError(_ stderr: String) -> String? {
        stderr.split(separator: "\n").first { $0.contains("transactions partition ") && $0.contains(" offset ") }.map(String.init)
    }

    @Test func aSourceKeyedByAnotherFieldIsRefusedAndOneInstanceReadsIt() throws {
        let s = try Self.setUp()
        defer { try? FileManager.default.removeItem(atPath: s.dir) }
        try Self.produce(s, "events.jsonl", keyField: "merchant")
        let part = try Self.run(s, topology: "cfpart", tag: "wrong-key", extra: ["--partitioned"])
        let status = part.wait(120)
        #expect(status != nil && status != 0, "exit \(String(describing: status)): \(part.diagnosis)")
        let line = try #require(Self.keyError(part.stderr), "\(part.diagnosis)")
        #expect(line.range(of: #"transactions partition [0-3] offset [0-9]+: the message key is "[a-z]+" but the record's user is "u[0-9]+" \(source\.key: user\)"#,
                            options: .regularExpression) != nil, "\(line)")
        #expect(line.contains("weir produce --key-field user") && line.contains("run one instance without --partitioned"), "\(line)")
        // Refused before anything of a batch was used: no score was written, nothing checkpointed.
        #expect(try s.broker.read("cfpart.scores").isEmpty)
        #expect(try s.broker.read("cfpart.changelog").isEmpty)

        // One instance accepts any keying: a score per event.
        let single = try Self.run(s, topology: "cfsingle", tag: "wrong-key-single", extra: [])
        #expect(single.wait(240) == 0, "\(single.diagnosis)")
        let scores = try s.broker.read("cfsingle.scores")
        #expect(scores.count == Self.events)
        #expect(Set(scores.map { r -> String in
            let o = Self.object(r.value)
            return "\(o["partition"] ?? "?")/\(o["offset"] ?? "?")"
        }).count == Self.events)
    }

    @Test func aSourceWithoutKeysIsRefused() throws {
        let s = try Self.setUp()
        defer { try? FileManager.default.removeItem(atPath: s.dir) }
        try Self.produce(s, "first.jsonl", keyField: nil)
        let part = try Self.run(s, topology: "cfpart", tag: "null-key", extra: ["--partitioned"])
        let status = part.wait(120)
        #expect(status != nil && status != 0, "exit \(String(describing: status)): \(part.diagnosis)")
        let line = try #require(Self.keyError(part.stderr), "\(part.diagnosis)")
        #expect(line.range(of: #"transactions partition [0-3] offset [0-9]+: the message has no key \(null\) but the record's user is "u[0-9]+" \(source\.key: user\)"#,
                            options: .regularExpression) != nil, "\(line)")
        #expect(try s.broker.read("cfpart.scores").isEmpty)
    }
}
