import Foundation
import Testing
import WeirTestSupport
import WeirTopology
@testable import WeirRuntime

/// `model.carry`: score records carry named input fields under their own names, with the input's
/// values, so a consumer can join scores to its own ids.
@Suite struct CarryTests {
    static let topology = """
        name: carried
        source: {topics: [events], key: user, event_time: ts}
        schema:
          ts: {type: timestamp}
          event_id: {type: string}
          user: {type: string}
          n: {type: int}
          amount: {type: double}
          flag: {type: bool}
          kind: {type: category, categories: [a, b]}
          note: {type: string, required: false}
          label: {type: int, min: 0, max: 1, required: false}
        model:
          inputs: [amount]
          carry: [event_id, n, amount, flag, kind, note]
        """

    /// Ids with characters JSON must escape (quote, backslash, a control character) and ones it
    /// need not (U+2028, non-ASCII), among plain ones.
    static let oddIDs = ["q\"uote", "back\\slash", "line\u{2028}sep", "tab\there", "caf\u{E9}-\u{1F600}", "nl\nx"]

    static func inputLines(count: Int) -> [String] {
        var g = SeededGenerator(seed: 19)
        return (0..<count).map { i in
            let id = i % 7 < oddIDs.count ? "\(oddIDs[i % 7])-\(i)" : "ev-\(i)"
            var o: [String: Any] = ["ts": 1_700_000_000_000 + i * 10, "event_id": id, "user": "u\(i % 5)",
                                    "n": Int(g.next() % 2_000_000) - 1_000_000, "amount": Double(g.next() % 100_000) / 7,
                                    "flag": i % 2 == 0, "kind": i % 3 == 0 ? "a" : "b"]
            if i % 3 != 1 { o["note"] = "note \"\(i)\"\\" }
            if i % 4 == 0 { o["label"] = i % 8 == 0 ? 1 : 0 }
            let data = try! JSONSerialization.data(withJSONObject: o, options: [.sortedKeys])
            return String(decoding: data, as: UTF8.self)
        }
    }

    /// Replays `count` events; returns the input objects, the score records and their lines.
    static func replay(count: Int) throws -> (inputs: [[String: Any]], scores: [[String: Any]], lines: [String]) {
        let dir = tempDir()
        let lines = inputLines(count: count)
        try (lines.joined(separator: "\n") + "\n").write(toFile: dir + "/events.jsonl", atomically: true, encoding: .utf8)
        try topology.write(toFile: dir + "/carried.yaml", atomically: true, encoding: .utf8)
        let compiled = try TopologyCompiler.compile(try TopologyLoader.load(path: dir + "/carried.yaml"))
        var sink = try JSONLDirectorySink(directory: dir + "/out")
        _ = try ReplayRunner(batchSize: 64).run(compiled, input: dir + "/events.jsonl", into: &sink)
        try sink.close()
        let scoreLines = try String(contentsOfFile: dir + "/out/scores.jsonl", encoding: .utf8).split(separator: "\n").map(String.init)
        let inputs = lines.map { try! JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        return (inputs, try readJSONL(dir + "/out/scores.jsonl"), scoreLines)
    }

    @Test func carriedValuesEqualTheInputsForEveryScore() throws {
        let (inputs, scores, lines) = try Self.replay(count: 500)
        #expect(scores.count == inputs.count)
        var absent = 0, escaped = 0
        for (s, line) in zip(scores, lines) {
            let offset = (s["offset"] as! NSNumber).intValue
            let input = inputs[offset]
            #expect(s["event_id"] as? String == input["event_id"] as? String, "\(line)")
            #expect((s["n"] as? NSNumber)?.int64Value == (input["n"] as! NSNumber).int64Value, "\(line)")
            #expect((s["amount"] as? NSNumber)?.doubleValue == (input["amount"] as! NSNumber).doubleValue, "\(line)")
            #expect(s["kind"] as? String == input["kind"] as? String, "\(line)")
            // bool as true/false, not 0/1
            #expect(line.contains("\"flag\":\(input["flag"] as! Bool)"), "\(line)")
            if let note = input["note"] as? String {
                #expect(s["note"] as? String == note, "\(line)")
            } else {
                absent += 1
                #expect(s["note"] == nil && !line.contains("\"note\""), "\(line)")
            }
            if (input["event_id"] as! String).contains(where: { "\"\\\u{2028}\t\n".contains($0) }) { escaped += 1 }
            // the score record's own keys are all still there
            for k in ["key", "event_time", "score", "model_id", "model_version", "topic", "partition", "offset"] {
                #expect(s[k] != nil, "\(k) missing in \(line)")
            }
        }
        #expect(absent > 100 && escaped > 300)
    }

    @Test func scoreRecordsWithCarriedFieldsValidateAgainstTheSchema() throws {
        let (_, _, lines) = try Self.replay(count: 200)
        let (status, output) = try validateScoreRecords(lines, name: "carried")
        #expect(status == 0, "\(output)")
        #expect(output.contains("ok \(lines.count)"))
        // The schema rejects broken score records: a carried object, a missing score, a bad offset.
        let good = lines[0]
        let broken = [
            good.replacingOccurrences(of: "\"n\":", with: "\"n\":{\"v\":0},\"n_was\":"),
            good.replacingOccurrences(of: "\"score\":", with: "\"scor\":"),
            good.replacingOccurrences(of: "\"offset\":0", with: "\"offset\":\"0\""),
        ]
        for (i, b) in broken.enumerated() {
            #expect(b != good)
            let (status, output) = try validateScoreRecords([b], name: "broken\(i)")
            #expect(status != 0, "case \(i) accepted: \(output)")
        }
    }

    @Test func carryIsEmptyByDefault() throws {
        let without = Self.topology.replacingOccurrences(of: "  carry: [event_id, n, amount, flag, kind, note]", with: "")
        #expect(without != Self.topology)
        #expect(try TopologyLoader.parse(without).model?.carry == [])
        #expect(try TopologyLoader.parse(Self.topology).model?.carry == ["event_id", "n", "amount", "flag", "kind", "note"])
    }
}

/// Score records against `schemas/score-record.schema.json` (see ``validateRecordsWithSchemas``).
func validateScoreRecords(_ lines: [String], name: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) throws -> (Int32, String) {
    try validateRecordsWithSchemas(lines, kind: "score", repoRoot: repoRoot, file: tempDir() + "/scores-\(name).jsonl",
                                   sourceLocation: sourceLocation)
}
