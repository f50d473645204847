import Foundation
import Testing
@testable import WeirCore
import WeirTestSupport
import WeirTopology
@testable import WeirRuntime

/// Serving reads (`GET /v1/features/{key}`, `POST /v1/score`) against what the pipeline writes:
/// the served features of a key at a batch boundary equal the features of the score record of
/// the key's last event, and the score of a posted event equals the score record written when
/// that event is ingested next; serving changes nothing (a twin pipeline that is never asked
/// writes byte-identical records).
@Suite struct ServingConsistencyTests {
    /// The card-fraud topology with its window features as model inputs (the score record's
    /// `features` then carries them as the events read them), plus sliding, session, count,
    /// quantile and top-k windows, so every window kind is served.
    static func topology(standardize: Bool) -> String {
        """
        name: serving
        source:
          topics: [transactions]
          key: user
          event_time: {field: ts, format: epoch_millis}
          out_of_orderness: 2s
          allowed_lateness: 2s
          idleness: 10s
        schema:
          event_id: {type: string}
          ts: {type: timestamp}
          user: {type: string}
          amount: {type: double, min: 0}
          merchant: {type: category}
          device_age_days: {type: int, min: 0}
          label: {type: int, required: false, min: 0, max: 1}
        features:
          user_count_1m: {window: {tumbling: 1m}, by: user, aggregate: count}
          user_mean_1m: {window: {tumbling: 1m}, by: user, aggregate: mean, field: amount}
          user_max_1m: {window: {tumbling: 1m}, by: user, aggregate: max, field: amount}
          user_merchants_1h: {window: {hopping: 1h, hop: 5m}, by: user, aggregate: distinct_count, field: merchant}
          user_std_10m: {window: {hopping: 10m, hop: 2m}, by: user, aggregate: stddev, field: amount}
          user_sum_30s: {window: {sliding: 30s}, by: user, aggregate: sum, field: amount}
          user_session_count: {window: {session: 20s}, by: user, aggregate: count}
          user_last5_mean: {window: {count: 5}, by: user, aggregate: mean, field: amount}
          user_p90_5m: {window: {tumbling: 5m}, by: user, aggregate: quantile, field: amount, quantile: 0.9}
          global_mean_5m: {window: {hopping: 5m, hop: 1m}, by: global, aggregate: mean, field: amount}
          amount_scaled: "amount / 100"
          merchant_onehot: {one_hot: merchant, categories: [grocery, fuel, travel]}
        model:
          type: logistic
          label: label
          standardize: \(standardize)
          emit_features: true
          inputs: [amount_scaled, user_count_1m, user_mean_1m, user_max_1m, user_merchants_1h, user_std_10m, user_sum_30s,
                   user_session_count, user_last5_mean, user_p90_5m, global_mean_5m, merchant_onehot]
          optimizer: sgd
          learning_rate: 0.05
        """
    }

    /// The keyed window features (served by GET) among the model inputs.
    static let keyedFeatures = ["user_count_1m", "user_last5_mean", "user_max_1m", "user_mean_1m", "user_merchants_1h",
                                "user_p90_5m", "user_session_count", "user_std_10m", "user_sum_30s"]
    /// Features whose window holds part of its data in pieces the watermark expires one by one
    /// (hopping panes, sliding events): once other keys' events advance the watermark, the oldest
    /// piece of a key's latest window may be purged before the batch ends (docs/serving.md).
    static let expiringInPieces: Set<String> = ["user_merchants_1h", "user_std_10m", "user_sum_30s"]

    static func compile(standardize: Bool = false) throws -> CompiledTopology {
        let path = tempDir() + "/serving.yaml"
        try topology(standardize: standardize).write(toFile: path, atomically: true, encoding: .utf8)
        return try TopologyCompiler.compile(try TopologyLoader.load(path: path))
    }

    /// Seeded events of 12 users: increasing event time with gaps (so windows close, sessions end
    /// and keys expire), amounts, merchants (a few never one-hot encoded), half labelled.
    static func events(_ n: Int, seed: UInt64 = 21) -> [String] {
        var g = SeededGenerator(seed: seed)
        let merchants = ["grocery", "fuel", "travel", "casino", "books"]
        var ts: Int64 = 1_700_000_000_000
        return (0..<n).map { i in
            ts += Int64(g.next() % 4_000)
            if g.next() % 50 == 0 { ts += 90_000 }
            let user = "u\(g.next() % 12)"
            let amount = Double(g.next() % 50_000) / 100
            let label = g.next() % 2 == 0 ? #","label":\#(g.next() % 5 == 0 ? 1 : 0)"# : ""
            return #"{"event_id":"e\#(i)","ts":\#(ts),"user":"\#(user)","amount":\#(amount),"merchant":"\#(merchants[Int(g.next() % 5)])","device_age_days":\#(g.next() % 900)\#(label)}"#
        }
    }

    static func batch(_ lines: ArraySlice<String>, first: Int) -> InputBatch {
        var b = InputBatch(capacity: lines.count)
        for (i, l) in lines.enumerated() { b.append(Array(l.utf8), partition: 0, offset: Int64(first + i)) }
        return b
    }

    static func object(_ reply: ServingReply) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(reply.body)) as? [String: Any])
    }

    @Test func servedFeaturesEqualTheLastScoreRecordOfTheKeyAtEveryBatchBoundary() throws {
        let compiled = try Self.compile()
        var pipeline = try Pipeline(compiled: compiled)
        let names = compiled.inputNames
        let lines = Self.events(3_000)
        var compared = 0, absent = 0, comparedLastOfBatch = 0
        var servedNames = Set<String>()
        for start in stride(from: 0, to: lines.count, by: 97) {
            var sink = RecordingSink()
            try pipeline.process(Self.batch(lines[start..<min(start + 97, lines.count)], first: start), topic: "transactions", now: 0, into: &sink)
            var last: [String: [String: Any]] = [:]
            let scores = try sink.objects(.scores)
            for s in scores { last[s["key"] as! String] = s }
            let lastOfBatch = scores.last!["key"] as! String
            for (user, score) in last.sorted(by: { $0.key < $1.key }) {
                let reply = pipeline.featuresReply(key: user)
                #expect(reply.status == 200 || user != lastOfBatch, "\(reply.text)")
                if reply.status == 404 { absent += 1; continue }
                #expect(reply.status == 200, "\(reply.text)")
                let body = try Self.object(reply)
                #expect(body["key"] as? String == user)
                #expect((body["watermark"] as? NSNumber)?.int64Value == pipeline.graph.watermark)
                #expect((body["model_version"] as? NSNumber)?.intValue == pipeline.model!.version)
                let vector = try #require(score["features"] as? [NSNumber]).map(\.doubleValue)
                let features = try #require(body["features"] as? [[String: Any]])
                for f in features {
                    let name = f["name"] as! String
                    servedNames.insert(name)
                    // Every feature of the batch's last key; the others' unless a piece of their
                    // window may have expired since their last event.
                    guard user == lastOfBatch || !Self.expiringInPieces.contains(name) else { continue }
                    // A count window the key's last event completed starts again empty (0 events).
                    if name == "user_last5_mean" && (f["end"] as! NSNumber).intValue == 0 { continue }
                    let i = try #require(names.firstIndex(of: name))
                    let served = (f["value"] as! NSNumber).doubleValue
                    #expect(served == vector[i], "\(user) \(name) at batch \(start): served \(served), scored \(vector[i])")
                    #expect((f["start"] as! NSNumber).int64Value <= (f["end"] as! NSNumber).int64Value || name == "user_last5_mean")
                }
                compared += 1
                if user == lastOfBatch { comparedLastOfBatch += 1 }
            }
        }
        #expect(servedNames == Set(Self.keyedFeatures))
        // Most keys are live at their batch's end (some expire after the 90 s gaps).
        #expect(compared > 200 && absent < compared / 4, "compared \(compared), absent \(absent)")
        #expect(comparedLastOfBatch == (lines.count + 96) / 97)
        #expect(pipeline.featuresReply(key: "nobody").status == 404)
    }

    /// Tumbling and session windows are read in place (no copy of the key's windows): with a
    /// 10-minute allowed lateness each key holds several windows at once, and the served one is
    /// still the key's latest, against a brute-force oracle over the events: the events of the
    /// key's last event's minute (count, max) and of its last session (events back to a gap of
    /// 20 s or more; every gap is a multiple of 7 ms, so never exactly 20 s).
    @Test func servedTumblingAndSessionWindowsAreTheKeysLatestWhileOlderOnesAreStillHeld() throws {
        let path = tempDir() + "/latest.yaml"
        try """
            name: latest
            source: {topics: [t], key: user, event_time: {field: ts, format: epoch_millis}, out_of_orderness: 0s, allowed_lateness: 10m}
            schema:
              ts: {type: timestamp}
              user: {type: string}
              amount: {type: double}
            features:
              c_1m: {window: {tumbling: 1m}, by: user, aggregate: count}
              max_1m: {window: {tumbling: 1m}, by: user, aggregate: max, field: amount}
              s_count: {window: {session: 20s}, by: user, aggregate: count}
            """.write(toFile: path, atomically: true, encoding: .utf8)
        var pipeline = try Pipeline(compiled: try TopologyCompiler.compile(try TopologyLoader.load(path: path)))
        var g = SeededGenerator(seed: 5)
        var ts: Int64 = 1_700_000_000_000
        var events: [(ts: Int64, user: String, amount: Double)] = []
        for _ in 0..<2_000 {
            ts += Int64(g.next() % 1_000) * 7
            events.append((ts, "u\(g.next() % 20)", Double(g.next() % 10_000) / 100))
        }
        var compared = 0, olderHeld = 0
        for start in stride(from: 0, to: events.count, by: 50) {
            let lines = events[start..<min(start + 50, events.count)].map { #"{"ts":\#($0.ts),"user":"\#($0.user)","amount":\#($0.amount)}"# }
            var sink = RecordingSink()
            try pipeline.process(Self.batch(lines[...], first: start), topic: "t", now: 0, into: &sink)
            let seen = events[..<min(start + 50, events.count)]
            for user in Set(seen.map(\.user)).sorted() {
                let mine = seen.filter { $0.user == user }
                let last = mine.last!
                let minute = last.ts - last.ts % 60_000
                let inMinute = mine.filter { $0.ts >= minute }
                var session = 1
                while session < mine.count && mine[mine.count - session].ts - mine[mine.count - session - 1].ts < 20_000 { session += 1 }
                if mine.contains(where: { $0.ts < minute && $0.ts >= minute - 9 * 60_000 }) { olderHeld += 1 }
                let body = try Self.object(pipeline.featuresReply(key: user))
                let served = Dictionary(uniqueKeysWithValues: try #require(body["features"] as? [[String: Any]]).map {
                    ($0["name"] as! String, (value: ($0["value"] as! NSNumber).doubleValue, start: ($0["start"] as! NSNumber).int64Value))
                })
                #expect(served["c_1m"]?.value == Double(inMinute.count), "\(user) at \(start)")
                #expect(served["c_1m"]?.start == minute, "\(user) at \(start)")
                #expect(served["max_1m"]?.value == inMinute.map(\.amount).max(), "\(user) at \(start)")
                #expect(served["s_count"]?.value == Double(session), "\(user) at \(start)")
                #expect(served["s_count"]?.start == mine[mine.count - session].ts, "\(user) at \(start)")
                compared += 1
            }
        }
        // The case the test is for: keys holding an earlier minute's window when asked.
        #expect(compared > 500 && olderHeld > compared / 2, "compared \(compared), with an older window held \(olderHeld)")
    }

    /// Posting every event before ingesting it: the reply equals the score record of that event
    /// (score, version, feature vector), and the pipeline asked writes exactly what a twin never
    /// asked writes.
    @Test(arguments: [false, true])
    func postedScoreEqualsTheScoreRecordWhenTheEventIsIngestedNext(standardize: Bool) throws {
        let compiled = try Self.compile(standardize: standardize)
        var asked = try Pipeline(compiled: compiled)
        var twin = try Pipeline(compiled: compiled)
        let lines = Self.events(1_500, seed: 7)
        var versions = Set<Int>()
        for (i, line) in lines.enumerated() {
            let reply = asked.scoreReply(event: Array(line.utf8), now: 0)
            #expect(reply.status == 200, "\(reply.text)")
            var sink = RecordingSink(), twinSink = RecordingSink()
            try asked.process(Self.batch(lines[i...i], first: i), topic: "transactions", now: 0, into: &sink)
            try twin.process(Self.batch(lines[i...i], first: i), topic: "transactions", now: 0, into: &twinSink)
            #expect(sink.records == twinSink.records)
            let score = try #require(try sink.objects(.scores).first)
            let body = try Self.object(reply)
            #expect((body["score"] as! NSNumber).doubleValue == (score["score"] as! NSNumber).doubleValue, "event \(i)")
            #expect((body["model_version"] as! NSNumber).intValue == (score["model_version"] as! NSNumber).intValue)
            #expect(try #require(body["features"] as? [NSNumber]).map(\.doubleValue)
                    == (try #require(score["features"] as? [NSNumber])).map(\.doubleValue), "event \(i)")
            #expect((body["event_time"] as! NSNumber).int64Value == (score["event_time"] as! NSNumber).int64Value)
            #expect(body["key"] as? String == score["key"] as? String)
            versions.insert((body["model_version"] as! NSNumber).intValue)
        }
        #expect(asked.checkpointState() == twin.checkpointState())
        #expect(!versions.isEmpty)
    }

    /// A bad event gets the dead letter's reason and field, and changes nothing.
    @Test func invalidEventsAreRefusedWithTheDeadLetterReason() throws {
        let compiled = try Self.compile()
        var pipeline = try Pipeline(compiled: compiled)
        var sink = RecordingSink()
        let lines = Self.events(200)
        try pipeline.process(Self.batch(lines[0..<200], first: 0), topic: "transactions", now: 0, into: &sink)
        let before = pipeline.checkpointState()
        let bad = [#"{"event_id":"x","ts":1700000000000,"user":"u1","amount":"#,  // malformed JSON
                   #"{"event_id":"x","ts":1700000000000,"user":"u1","amount":"ten","merchant":"fuel","device_age_days":3}"#,
                   #"{"event_id":"x","ts":1700000000000,"user":"u1","amount":-5,"merchant":"fuel","device_age_days":3}"#,
                   #"{"event_id":"x","ts":1700000000000,"user":"u1","merchant":"fuel","device_age_days":3}"#,
                   #"[1,2,3]"#, ""]
        for (i, b) in bad.enumerated() {
            let reply = pipeline.scoreReply(event: Array(b.utf8), now: 0)
            #expect(reply.status == 400, "\(b): \(reply.text)")
            var dead = RecordingSink()
            var probe = try Pipeline(compiled: compiled)
            try probe.process(Self.batch([b][...], first: 0), topic: "t", now: 0, into: &dead)
            let letter = try #require(dead.deadLetters.first, "\(i)")
            let body = try Self.object(reply)
            #expect(body["error"] as? String == "invalid_event")
            #expect(Array((body["reason"] as! String).utf8) == Array(letter.value.dropFirst(b.utf8.count)), "\(b)")
            #expect(body["field"] as? String == letter.field)
        }
        #expect(pipeline.checkpointState() == before)
    }

    /// With incremental checkpoints on, each window operator journals its structural changes since
    /// the last checkpoint. A served request works on a one-key copy of the operators: that copy
    /// must start with an empty journal. It shared the live one, so its first allocation copied
    /// everything journaled since the last checkpoint, per request (ServeBench with checkpoints:
    /// ingest fell from ~230k to ~7k events/s under 2,000 requests/s).
    @Test func servingCopiesNoCheckpointJournal() throws {
        var pipeline = try Pipeline(compiled: try Self.compile())
        var sink = RecordingSink()
        let lines = Self.events(3_000)
        try pipeline.process(Self.batch(lines[0..<1_000], first: 0), topic: "transactions", now: 0, into: &sink)
        pipeline.markCheckpointed()
        try pipeline.process(Self.batch(lines[1_000..<3_000], first: 1_000), topic: "transactions", now: 0, into: &sink)
        let keyed = pipeline.graph.windows.filter { $0.keyField >= 0 }
        #expect(keyed.filter { $0.journal.bytes.count > 1_000 }.count >= 2, "bytes journaled since the checkpoint: \(keyed.map { $0.journal.bytes.count })")
        for op in keyed {
            let mini = op.isolated(keyBytes: Array("u1".utf8))
            #expect(mini.journal.bytes.count < 500, "a one-key copy holds \(mini.journal.bytes.count) journal bytes")
        }
        // And serving still leaves the pipeline's state and its journal as they were.
        let before = pipeline.graph.windows.map { $0.journal.bytes }
        let state = pipeline.checkpointState()
        for i in 0..<20 {
            #expect(pipeline.featuresReply(key: "u\(i)").status != 500)
            #expect(pipeline.scoreReply(event: Array(lines[2_000 + i].utf8), now: 0).status == 200)
        }
        #expect(pipeline.graph.windows.map { $0.journal.bytes } == before)
        #expect(pipeline.checkpointState() == state)
    }
}
