import Foundation
import Testing
import WeirTestSupport

/// `processing.output_headers` through a real run, read back with kcat: by default (`dedup`)
/// every score record carries its origin (`weir.id`: the source topic, partition, the event's
/// `offset` and seq 0) and `weir.epoch`; with `none` no score record carries a header, while the dead letter
/// still names its reason and origin. Both runs score the same events identically.
@Suite(.serialized, .timeLimit(.minutes(5)))
struct OutputHeadersTests {
    @Test(.requires(.kcat))
    func noneDropsTheDedupHeadersButNotTheDeadLetterReason() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("weir-headers-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let weir = weirBinary.path
        try tool(weir, ["generate", "--count", "3000", "--seed", "4", "--output", dir + "/gen.jsonl"])
        var lines = try String(contentsOfFile: dir + "/gen.jsonl", encoding: .utf8).split(separator: "\n").map(String.init)
        let bad = #"{"event_id":"bad","ts":1700000005000,"user":"u1","amount":-4,"merchant":"fuel","device_age_days":1}"#
        lines.insert(bad, at: 1000)
        try (lines.joined(separator: "\n") + "\n").write(toFile: dir + "/input.jsonl", atomically: true, encoding: .utf8)
        let original = try String(contentsOfFile: repoRoot.appendingPathComponent("topologies/card-fraud.yaml").path, encoding: .utf8)

        func run(_ headers: String?) throws -> (scores: [(headers: String, value: String)], dlq: [String]) {
            let sub = dir + "/" + (headers ?? "default")
            try FileManager.default.createDirectory(atPath: sub, withIntermediateDirectories: true)
            let topology = sub + "/card-fraud.yaml"
            try (original + (headers.map { "\nprocessing:\n  output_headers: \($0)\n" } ?? "")).write(toFile: topology, atomically: true, encoding: .utf8)
            let (bs, broker) = try OperationsTests.startBroker("transactions:1", dir: sub)
            defer { broker.terminate(); broker.waitUntilExit() }
            try tool("kcat", ["-P", "-b", bs, "-t", "transactions", "-l", dir + "/input.jsonl"])
            try tool(weir, ["run", topology, "--brokers", bs, "--stop-at-end"])
            func read(_ topic: String) throws -> [String] {
                try tool("kcat", ["-C", "-b", bs, "-t", topic, "-o", "beginning", "-e", "-q", "-f", "%h\\t%s\\n"])
                    .split(separator: "\n").map(String.init)
            }
            let scores = try read("card-fraud.scores").map { row -> (headers: String, value: String) in
                let parts = row.split(separator: "\t", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
                return (parts[0], parts.count > 1 ? parts[1] : "")
            }
            return (scores, try read("card-fraud.dlq"))
        }

        let tagged = try run(nil)
        let plain = try run("none")
        #expect(tagged.scores.count == lines.count - 1)
        #expect(plain.scores.count == lines.count - 1)
        for s in tagged.scores {
            let fields = Dictionary(s.headers.split(separator: ",").map { kv -> (String, String) in
                let p = kv.split(separator: "=", maxSplits: 1).map(String.init)
                return (p[0], p.count > 1 ? p[1] : "")
            }, uniquingKeysWith: { a, _ in a })
            let value = jsonLines(s.value).first
            // The origin in one header (source topic/partition/offset/seq) and the epoch, nothing else.
            #expect(fields["weir.id"] == "transactions/0/\((value?["offset"] as? NSNumber)?.stringValue ?? "?")/0", "\(s.headers)")
            #expect(fields["weir.epoch"].flatMap { Int($0) } != nil && fields.count == 2, "\(s.headers)")
        }
        #expect(plain.scores.allSatisfy { $0.headers.isEmpty }, "\(plain.scores.first { !$0.headers.isEmpty }?.headers ?? "")")
        // the same scores either way (sorted: the scores topic has several partitions)
        #expect(plain.scores.map(\.value).sorted() == tagged.scores.map(\.value).sorted())
        for dlq in [tagged.dlq, plain.dlq] {
            #expect(dlq.count == 1)
            #expect(dlq.first?.contains("weir.error=") == true && dlq.first?.contains("weir.source.offset=1000") == true)
            #expect(dlq.first?.hasSuffix(bad) == true)
        }
    }
}
