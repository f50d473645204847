import Foundation
import Testing
import WeirTopology
@testable import WeirRuntime

let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

func tempDir() -> String {
    let d = FileManager.default.temporaryDirectory.appendingPathComponent("weir-test-\(UUID().uuidString)").path
    try? FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
    return d
}

func readJSONL(_ path: String) throws -> [[String: Any]] {
    try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map {
        try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
    }
}

@Suite struct ReplayTests {
    /// Bad records go to the dead-letter output, with reason, field and position, and nowhere
    /// else; every good record is scored exactly once; nothing accepted is lost.
    @Test func badRecordsGoToDeadLettersOnlyAndGoodOnesAreAllScored() throws {
        let gen = CardFraudGenerator(seed: 7, users: 300)
        let bad: [Int: (line: String, field: String?, reason: String)] = [
            100: (#"{"event_id":"x","ts":1700000001000,"user":"u1","amount":"#, nil, "malformed"),
            250: (#"{"event_id":"x","ts":1700000002000,"user":"u1","merchant":"fuel","device_age_days":3}"#, "amount", "missing"),
            400: (#"{"event_id":"x","ts":1700000003000,"user":"u1","amount":"lots","merchant":"fuel","device_age_days":3}"#, "amount", "type"),
            555: (#"{"event_id":"x","ts":1700000004000,"user":"u1","amount":-5,"merchant":"fuel","device_age_days":3}"#, "amount", "range"),
            777: (#"{"event_id":"x","ts":1700000005000,"user":"u1","amount":1e999,"merchant":"fuel","device_age_days":3}"#, "amount", "finite"),
        ]
        var lines: [String] = []
        var good = 0
        for i in 0..<3000 {
            if let b = bad[i] { lines.append(b.line) } else { lines.append(gen.event(good)); good += 1 }
        }
        let dir = tempDir()
        let input = dir + "/events.jsonl"
        try (lines.joined(separator: "\n") + "\n").write(toFile: input, atomically: true, encoding: .utf8)
        let spec = try TopologyLoader.load(path: repoRoot.appendingPathComponent("topologies/card-fraud.yaml").path)
        let compiled = try TopologyCompiler.compile(spec)
        var sink = try JSONLDirectorySink(directory: dir + "/out")
        let pipeline = try ReplayRunner(batchSize: 256).run(compiled, input: input, into: &sink)
        try sink.close()

        let dlq = try readJSONL(dir + "/out/dlq.jsonl")
        #expect(dlq.count == bad.count)
        for r in dlq {
            let offset = (r["offset"] as! NSNumber).intValue
            let b = try #require(bad[offset], "unexpected dead letter at \(offset)")
            #expect(r["value"] as? String == b.line)
            #expect(r["topic"] as? String == "transactions")
            #expect((r["partition"] as! NSNumber).intValue == 0)
            if let f = b.field { #expect(r["field"] as? String == f, "\(r)") }
            #expect(!(r["reason"] as! String).isEmpty)
        }
        let scores = try readJSONL(dir + "/out/scores.jsonl")
        #expect(scores.count == good)
        let offsets = scores.map { ($0["offset"] as! NSNumber).intValue }
        #expect(Set(offsets).count == good)
        #expect(Set(offsets).isDisjoint(with: bad.keys))
        #expect(scores.allSatisfy { ($0["score"] as! NSNumber).doubleValue >= 0 && ($0["score"] as! NSNumber).doubleValue <= 1 })
        #expect(pipeline.counters.records == good, "\(pipeline.counters)")
        #expect(pipeline.counters.deadLetters == bad.count)
        #expect(pipeline.counters.labelled > 0)
    }

    @Test func generatorIsDeterministicAndInjectsDrift() throws {
        let g = CardFraudGenerator(seed: 1, driftAt: 1000)
        #expect(g.event(17) == CardFraudGenerator(seed: 1, driftAt: 1000).event(17))
        #expect(g.event(17) != CardFraudGenerator(seed: 2, driftAt: 1000).event(17))
        func amounts(_ r: Range<Int>) -> [Double] {
            r.map { (try! JSONSerialization.jsonObject(with: Data(g.event($0).utf8)) as! [String: Any])["amount"] as! Double }
        }
        let before = amounts(0..<1000).reduce(0, +) / 1000, after = amounts(1000..<2000).reduce(0, +) / 1000
        #expect(after / before > 1.5)
        let merchantsAfter = Set((1000..<2000).map { g.event($0) }.compactMap { line -> String? in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["merchant"] as? String })
        #expect(merchantsAfter.contains("crypto"))
    }
}
