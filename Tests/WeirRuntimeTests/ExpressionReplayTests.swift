import Foundation
import Testing
import WeirTopology
@testable import WeirRuntime

/// General (non-affine) expressions as model inputs, end to end through `weir replay`'s runner:
/// the score records' `features` (`model.emit_features`) equal values computed here in plain Swift.
@Suite struct ExpressionReplayTests {
    static let topology = """
        name: exprs
        source: {topics: [events], key: user, event_time: ts}
        schema:
          ts: {type: timestamp}
          user: {type: string}
          amount: {type: double, min: 0}
          device_age_days: {type: int, min: 0}
          bonus: {type: double, required: false}
          label: {type: int, min: 0, max: 1, required: false}
        features:
          user_sum: {window: {tumbling: 1m}, by: user, aggregate: sum, field: amount}
          user_count: {window: {tumbling: 1m}, by: user, aggregate: count}
          risk: "amount * device_age_days / 1000"
          spend: "sqrt(user_sum) - log(1 + amount)"
          capped: "min(amount, 50) / max(user_count, 1)"
          both: "risk * capped + clip(bonus, -1, 1)"
          inverse: "1 / (amount - 10)"
        model:
          inputs: [risk, spend, capped, both, inverse]
          emit_features: true
        """

    struct Event { var ts: Int64; var user: String; var amount: Double; var age: Int; var bonus: Double?; var label: Int? }

    @Test func scoreRecordsCarryTheExpressionValues() throws {
        var events: [Event] = []
        for i in 0..<600 {
            events.append(Event(ts: 1_700_000_000_000 + Int64(i) * 733, user: "u\((i * 7) % 5)",
                                amount: Double((i * 29) % 160) * 0.25, age: (i * 11) % 900,
                                bonus: i % 4 == 0 ? nil : Double(i % 9) * 0.375 - 1.5, label: i % 3 == 0 ? i % 2 : nil))
        }
        let lines = events.map { e -> String in
            var s = #"{"ts":\#(e.ts),"user":"\#(e.user)","amount":\#(e.amount),"device_age_days":\#(e.age)"#
            if let b = e.bonus { s += #","bonus":\#(b)"# }
            if let l = e.label { s += #","label":\#(l)"# }
            return s + "}"
        }
        // The reference: per user and minute, sum and count of amount; then each expression.
        var windows: [String: (minute: Int64, sum: Double, count: Double)] = [:]
        var expected: [[Double]] = []
        func finite(_ x: Double) -> Double { x.isFinite ? x : 0 }
        for e in events {
            let minute = e.ts / 60_000
            if let w = windows[e.user], w.minute == minute { windows[e.user] = (minute, w.sum + e.amount, w.count + 1) } else { windows[e.user] = (minute, e.amount, 1) }
            let w = windows[e.user]!
            let risk = finite(e.amount * Double(e.age) / 1000)
            let spend = finite(w.sum.squareRoot() - Foundation.log(1 + e.amount))
            let capped = finite(Swift.min(e.amount, 50) / Swift.max(w.count, 1))
            let both = e.bonus.map { finite(risk * capped + Swift.min(Swift.max($0, -1), 1)) } ?? 0
            let inverse = finite(1 / (e.amount - 10))
            expected.append([risk, spend, capped, both, inverse])
        }
        #expect(events.contains { $0.amount == 10 })  // 1 / 0 → 0 is exercised

        let dir = tempDir()
        try Self.topology.write(toFile: dir + "/exprs.yaml", atomically: true, encoding: .utf8)
        try (lines.joined(separator: "\n") + "\n").write(toFile: dir + "/events.jsonl", atomically: true, encoding: .utf8)
        let compiled = try TopologyCompiler.compile(try TopologyLoader.load(path: dir + "/exprs.yaml"))
        var sink = try JSONLDirectorySink(directory: dir + "/out")
        _ = try ReplayRunner(batchSize: 64).run(compiled, input: dir + "/events.jsonl", into: &sink)
        try sink.close()

        let scores = try String(contentsOfFile: dir + "/out/scores.jsonl", encoding: .utf8).split(separator: "\n")
        #expect(scores.count == events.count)
        var seen = Set<Int>()
        for line in scores {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            let offset = try #require(object["offset"] as? NSNumber).intValue
            // Read the numbers from the text (Double(String) round-trips the shortest form exactly).
            let start = try #require(line.range(of: #""features":["#)).upperBound
            let end = try #require(line[start...].firstIndex(of: "]"))
            let got = line[start..<end].split(separator: ",").map { Double(String($0)) }
            #expect(got == expected[offset].map(Optional.some), "offset \(offset): \(got) vs \(expected[offset])")
            seen.insert(offset)
        }
        #expect(seen.count == events.count)
    }
}
