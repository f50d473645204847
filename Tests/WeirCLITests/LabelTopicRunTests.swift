import Foundation
import Testing
import WeirTestSupport

/// `weir run` on a topology whose labels arrive on their own topic (`model.label_topic`), as a
/// process on a standalone `weir broker`, with events and labels published by kcat.
@Suite(.serialized, .timeLimit(.minutes(3)), .requires(.kcat))
struct LabelTopicRunTests {
    static let topology = labelTopicTopology(name: "labelled")

    static let topics = ["events:1", "labels:1", "labelled.changelog:1", "labelled.scores:1", "labelled.models:1", "labelled.dlq:1"]

    /// 8 chunks of 500 events (100 ms of event time apart), each followed by the labels of its
    /// events. 50 events of the first half get no label (they expire: the stream goes on more
    /// than `max_wait` past them); chunk 2 has two undecodable label records, chunk 3 three labels
    /// of events that do not exist.
    struct Data {
        var events: [[String]] = []
        var labels: [[String]] = []
        var joined = 0
        /// Label-topic offsets and text of the undecodable records.
        var undecodable: [Int: String] = [:]

        init(seed: UInt64) {
            var rng = SeededGenerator(seed: seed)
            var labelOffset = 0
            for k in 0..<8 {
                var ev: [String] = [], lab: [String] = []
                for i in (k * 500)..<((k + 1) * 500) {
                    let x = Double.random(in: -2...2, using: &rng)
                    ev.append(#"{"event_id":"e\#(i)","ts":\#(1_700_000_000_000 + i * 100),"user":"u\#(i % 7)","x":\#(x)}"#)
                    if i < 2000 && i % 40 == 7 { continue }
                    lab.append(#"{"event_id":"e\#(i)","is_fraud":\#(x + Double.random(in: -0.5...0.5, using: &rng) > 0 ? 1 : 0)}"#)
                    joined += 1
                }
                if k == 2 {
                    lab.insert(#"{"event_id":"e5","is_fraud":"yes"}"#, at: 10)
                    lab.insert(#"{"event_id":"e6","is_fraud":"#, at: 20)
                    undecodable[labelOffset + 10] = lab[10]
                    undecodable[labelOffset + 20] = lab[20]
                }
                if k == 3 { lab += [#"{"event_id":"nope1","is_fraud":1}"#, #"{"event_id":"nope2","is_fraud":0}"#, #"{"event_id":"e999999","is_fraud":1}"#] }
                labelOffset += lab.count
                events.append(ev)
                labels.append(lab)
            }
        }

        /// Publishes chunks with kcat: events of a chunk, then its labels (so each label is
        /// stamped after its event), `pause` seconds between chunks.
        func publish(broker: String, dir: String, pause: TimeInterval = 0) {
            for k in 0..<events.count {
                for (topic, lines) in [("events", events[k]), ("labels", labels[k])] {
                    let path = dir + "/\(topic)-\(k).jsonl"
                    try? (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
                    _ = try? tool("kcat", ["-P", "-b", broker, "-t", topic, "-l", path])
                }
                if pause > 0 { Thread.sleep(forTimeInterval: pause) }
            }
        }
    }

    /// The label figures of the last progress line `weir run` printed: log loss and accuracy
    /// text, then joined, learned, unmatched, expired, undecodable.
    static func summary(_ stderr: String) -> (model: String, counts: [Int])? {
        guard let line = stderr.split(separator: "\n").last(where: { $0.hasPrefix("[") && $0.contains(" joined (") }),
              let lossAt = line.range(of: "log loss "), let labelsAt = line.range(of: ", labels ") else { return nil }
        let model = String(line[lossAt.lowerBound..<labelsAt.lowerBound])
        let counts = line[labelsAt.upperBound...].split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
        return (model, counts)
    }

    static func setUp() throws -> (dir: String, topology: String) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("weir-labels-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try topology.write(toFile: dir + "/labelled.yaml", atomically: true, encoding: .utf8)
        return (dir, dir + "/labelled.yaml")
    }

    /// Published before the run (librdkafka then fetches the two topics in any order): every
    /// event is scored once; every label joins its event and the model learns from each (the
    /// prequential count equals the labels joined); unknown ids are unmatched; the unlabelled
    /// events expire; the undecodable labels are in the dead-letter topic with their topic,
    /// partition and offset. Then the same stream published gradually to a `weir run` killed with
    /// SIGKILL three times and restarted: the same counts and the same prequential log loss and
    /// accuracy (no label lost, none applied twice), and every event scored.
    @Test func labelsJoinAndSurviveCrashes() throws {
        let data = Data(seed: 5)
        let expected = [data.joined, data.joined, 3, 50, 2]

        // Uninterrupted.
        let (dir, topology) = try Self.setUp()
        let broker = try BrokerProcess(topics: Self.topics, dir: dir)
        data.publish(broker: broker.bootstrap, dir: dir)
        let run = try RunProcess([topology, "--brokers", broker.bootstrap, "--stop-at-end"] + FaultToleranceTests.runFlags, dir: dir, tag: "whole")
        #expect(run.wait(60) == 0, "weir run: \(run.stderr)")
        let whole = try #require(Self.summary(run.stderr), "no label summary in: \(run.stderr)")
        #expect(whole.counts == expected, "joined, learned, unmatched, expired, undecodable")
        let scores = jsonLines(try broker.read("labelled.scores").map(\.value).joined(separator: "\n"))
        #expect(scores.count == 4000)
        #expect(Set(scores.compactMap { ($0["offset"] as? NSNumber)?.intValue }).count == 4000)
        let dlq = try broker.read("labelled.dlq")
        #expect(dlq.count == 2)
        for r in dlq {
            #expect(r.headers["weir.source.topic"] == "labels")
            #expect(r.headers["weir.source.partition"] == "0")
            let offset = try #require(r.headers["weir.source.offset"].flatMap { Int($0) })
            #expect(data.undecodable[offset] == r.value, "dead letter at labels/0/\(offset)")
        }

        // Killed and restarted while the stream arrives.
        let (dir2, topology2) = try Self.setUp()
        let broker2 = try BrokerProcess(topics: Self.topics, dir: dir2)
        let bootstrap2 = broker2.bootstrap
        let producer = Thread { data.publish(broker: bootstrap2, dir: dir2, pause: 1.0) }
        producer.start()
        var rng = SeededGenerator(seed: 23)
        // Checkpoints 1.5 s apart, so most kills lose processed work that the restart redoes.
        var flags = FaultToleranceTests.runFlags
        flags[flags.firstIndex(of: "--checkpoint-interval")! + 1] = "1500"
        let args = [topology2, "--brokers", broker2.bootstrap] + flags
        var midStream = 0
        for i in 0..<3 {
            let r = try RunProcess(args, dir: dir2, tag: "\(i)")
            if r.waitForEvents(timeout: 20) { midStream += 1 }
            Thread.sleep(forTimeInterval: Double.random(in: 0.3...1.5, using: &rng))
            #expect(r.process.isRunning, "run \(i) exited early: \(r.stderr)")
            r.signal(SIGKILL)
            _ = r.wait(10)
        }
        while producer.isExecuting { Thread.sleep(forTimeInterval: 0.1) }
        let last = try RunProcess(args + ["--stop-at-end"], dir: dir2, tag: "final")
        #expect(last.wait(60) == 0, "final run: \(last.stderr)")
        #expect(midStream >= 2, "only \(midStream) of 3 kills landed while processing")
        let crashed = try #require(Self.summary(last.stderr), "no label summary in: \(last.stderr)")
        #expect(crashed.counts == expected, "joined, learned, unmatched, expired, undecodable after crashes")
        #expect(crashed.model == whole.model, "prequential metrics after crashes differ from the uninterrupted run")
        let scores2 = try broker2.read("labelled.scores")
        #expect(Set(scores2.map(\.identity)).count == 4000, "\(scores2.count) score records, \(Set(scores2.map(\.identity)).count) distinct")
        print("label topic crash test: \(midStream) of 3 kills while processing, \(scores2.count - 4000) duplicate scores dropped by headers; \(crashed.model)")
    }
}
