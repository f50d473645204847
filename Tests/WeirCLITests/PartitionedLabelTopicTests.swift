import Foundation
import Testing
import WeirTestSupport

/// `weir run --partitioned` on a topology whose labels arrive on their own topic
/// (`model.label_topic`, docs/scaling.md): the global stage reads the label topic and applies
/// each label between the tasks' events by message timestamp. Events keyed by user on 4
/// partitions and labels on 2, both stamped by the broker client at sending (not with the event
/// times: the events are from 2023), published chunk by chunk (a chunk's labels after its events),
/// on a standalone `weir broker`; compared with one instance (`weir run` without `--partitioned`,
/// whose timestamp merge is the reference).
@Suite(.serialized, .timeLimit(.minutes(4)), .requires(.kcat))
struct PartitionedLabelTopicTests {
    typealias Data = LabelTopicRunTests.Data
    typealias Setup = PartitionedRunTests.Setup

    static func setUp() throws -> Setup {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("weir-partlabels-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for name in ["lpart", "lsingle"] { try labelTopicTopology(name: name).write(toFile: "\(dir)/\(name).yaml", atomically: true, encoding: .utf8) }
        let topics = ["events:4", "labels:2", "lpart.global:4", "lpart.changelog:4", "lpart.weights:1", "lpart.global.changelog:1",
                      "lpart.scores:4", "lpart.models:1", "lpart.dlq:1", "lsingle.changelog:1", "lsingle.scores:4", "lsingle.models:1", "lsingle.dlq:1"]
        return Setup(dir: dir, broker: try BrokerProcess(topics: topics, dir: dir))
    }

    /// Publishes chunks `range` with kcat: a chunk's events keyed by user, then its labels
    /// (unkeyed, the undecodable ones as they are), each stamped when sent.
    static func publish(_ data: Data, _ range: Range<Int>, dir: String, bootstrap: String) throws {
        for k in range {
            let keyed = data.events[k].map { line in
                let user = (try? JSONSerialization.jsonObject(with: Foundation.Data(line.utf8)) as? [String: Any])?["user"] as? String ?? "?"
                return user + "\t" + line
            }
            for (topic, lines, flags) in [("events", keyed, ["-K", "\t"]), ("labels", data.labels[k], [])] {
                let path = dir + "/\(topic)-\(k).txt"
                try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
                _ = try tool("kcat", ["-P", "-b", bootstrap, "-t", topic, "-l", path] + flags)
            }
        }
    }

    static func run(_ s: Setup, _ topology: String, tag: String, partitioned: Bool, guarantee: String = "at_least_once") throws -> RunProcess {
        try PartitionedRunTests.run(s, topology: topology, tag: tag,
                                    extra: ["--guarantee", guarantee] + (partitioned ? ["--partitioned", "--weights-max-lead", "256"] : []))
    }

    /// The label summary of the instance that ran the global stage (the one whose progress
    /// lines carry it).
    static func summary(_ runs: [RunProcess]) -> (model: String, counts: [Int])? {
        runs.lazy.compactMap { LabelTopicRunTests.summary($0.stderr) }.first
    }

    /// The final partitioned run `last` against one uninterrupted instance `single`: both label
    /// summaries have the `expected` counts (joined, learned, unmatched, expired, undecodable),
    /// the prequential log loss is within 1% of one instance's, and every event has a score.
    static func expectLikeOneInstance(_ last: RunProcess, _ single: RunProcess, expected: [Int], s: Setup, after: String) throws
        -> (got: (model: String, counts: [Int]), want: (model: String, counts: [Int]), scores: [OutputRecord]) {
        let want = try #require(LabelTopicRunTests.summary(single.stderr), "no label summary in: \(single.stderr)")
        #expect(want.counts == expected, "one instance: joined, learned, unmatched, expired, undecodable")
        let got = try #require(LabelTopicRunTests.summary(last.stderr), "no label summary in: \(last.diagnosis)")
        #expect(got.counts == expected, "\(after): joined, learned, unmatched, expired, undecodable")
        let (lossGot, lossWant) = (try #require(Self.logLoss(got.model)), try #require(Self.logLoss(want.model)))
        #expect(abs(lossGot - lossWant) <= 0.01 * lossWant, "\(after): prequential log loss \(lossGot) vs one instance's \(lossWant)")
        let scores = try s.broker.read("lpart.scores")
        #expect(Set(scores.map(\.identity)).count == 4000, "\(scores.count) score records, \(Set(scores.map(\.identity)).count) distinct")
        return (got, want, scores)
    }

    static func logLoss(_ model: String) -> Double? {
        model.range(of: #"[0-9]+\.[0-9]+"#, options: .regularExpression).flatMap { Double(model[$0]) }
    }

    /// Two partitioned instances and one instance, each on the whole stream: the same labels
    /// joined, learned, unmatched, expired and undecodable (every label after its event joins;
    /// the 50 unlabelled events expire); prequential log loss within 1% of one instance's; every
    /// event scored once; the undecodable labels in the dead-letter topic with their label-topic
    /// position. Then the partitioned topology on the first half, stopped, and on the second half
    /// (one instance): the global stage resumes the label topic from its checkpoint's label
    /// offsets with the events still waiting for labels; the counts are the same and the log loss
    /// within 1% of one instance's uninterrupted run on the same input. (Measured: the log loss
    /// and accuracy equal one instance's to the printed digits in both cases: a label moves the
    /// model, and the labels go in the same order.)
    @Test(arguments: ["at_least_once", "exactly_once"])
    func theGlobalStageAppliesTheLabelTopicAsOneInstanceDoes(guarantee: String) throws {
        let data = Data(seed: 5)
        let expected = [data.joined, data.joined, 3, 50, 2]
        let s = try Self.setUp()
        try Self.publish(data, 0..<8, dir: s.dir, bootstrap: s.broker.bootstrap)

        let parts = try (0..<2).map { try Self.run(s, "lpart", tag: "part\($0)", partitioned: true, guarantee: guarantee) }
        for (i, r) in parts.enumerated() { #expect(r.wait(120) == 0, "partitioned instance \(i): \(r.diagnosis)") }
        let single = try Self.run(s, "lsingle", tag: "single", partitioned: false)
        #expect(single.wait(120) == 0, "one instance: \(single.diagnosis)")

        let want = try #require(LabelTopicRunTests.summary(single.stderr), "no label summary in: \(single.stderr)")
        #expect(want.counts == expected, "one instance: joined, learned, unmatched, expired, undecodable")
        let got = try #require(Self.summary(parts), "no label summary from the global stage: \(parts.map { $0.stderr.suffix(2000) })")
        #expect(got.counts == expected, "partitioned: joined, learned, unmatched, expired, undecodable")
        let (lossGot, lossWant) = (try #require(Self.logLoss(got.model)), try #require(Self.logLoss(want.model)))
        #expect(abs(lossGot - lossWant) <= 0.01 * lossWant, "prequential log loss \(lossGot) vs one instance's \(lossWant)")
        let scores = try s.broker.read("lpart.scores")
        #expect(scores.count == 4000 && Set(scores.map(\.identity)).count == 4000, "\(scores.count) score records")
        let dlq = try s.broker.read("lpart.dlq")
        #expect(dlq.count == 2)
        for r in dlq {
            #expect(r.headers["weir.source.topic"] == "labels")
            #expect(r.value.contains("is_fraud"), "dead letter: \(r.value)")
        }
        print("partitioned label topic (\(guarantee)): \(got.model) vs one instance \(want.model)")

        // Stop after half, restart on the rest.
        let s2 = try Self.setUp()
        try Self.publish(data, 0..<4, dir: s2.dir, bootstrap: s2.broker.bootstrap)
        let first = try (0..<2).map { try Self.run(s2, "lpart", tag: "half\($0)", partitioned: true, guarantee: guarantee) }
        for (i, r) in first.enumerated() { #expect(r.wait(120) == 0, "first half, instance \(i): \(r.diagnosis)") }
        try Self.publish(data, 4..<8, dir: s2.dir, bootstrap: s2.broker.bootstrap)
        let rest = try Self.run(s2, "lpart", tag: "rest", partitioned: true, guarantee: guarantee)
        #expect(rest.wait(120) == 0, "second half: \(rest.diagnosis)")
        let resumed = try #require(LabelTopicRunTests.summary(rest.stderr), "no label summary in: \(rest.stderr)")
        #expect(resumed.counts == expected, "after a stop and restart: joined, learned, unmatched, expired, undecodable")
        // The reference: one instance on the same input, uninterrupted (the stamps differ from the
        // first broker's, so the learning order may too).
        let reference = try Self.run(s2, "lsingle", tag: "single-all", partitioned: false)
        #expect(reference.wait(120) == 0, "one instance: \(reference.diagnosis)")
        let whole = try #require(LabelTopicRunTests.summary(reference.stderr), "no label summary in: \(reference.stderr)")
        let (lossResumed, lossWhole) = (try #require(Self.logLoss(resumed.model)), try #require(Self.logLoss(whole.model)))
        #expect(abs(lossResumed - lossWhole) <= 0.01 * lossWhole, "prequential log loss after the restart \(lossResumed) vs \(lossWhole)")
        #expect(rest.stderr.range(of: #"restored checkpoint epoch [0-9]+ .*; labels at 0@[0-9]+,1@[0-9]+"#, options: .regularExpression) != nil,
                "the global stage resumes the label topic at its checkpoint's label offsets: \(rest.stderr.suffix(2000))")
        print("partitioned label topic after a restart: \(resumed.model) vs one instance on the same input, uninterrupted: \(whole.model)")
    }

    /// At least once under SIGKILL while the stream arrives (a chunk a second): two partitioned
    /// instances, killed 4 times alternately at seeded points (the global-stage holder at least
    /// once) and restarted, then stopped and one run to the end: the same label counts as one
    /// uninterrupted instance, its log loss within 1%, and every event scored.
    @Test func sigkillsLoseNoLabel() throws {
        let data = Data(seed: 5)
        let expected = [data.joined, data.joined, 3, 50, 2]
        let s = try Self.setUp()
        let (dir, bootstrap) = (s.dir, s.broker.bootstrap)
        let producer = Thread {
            for k in 0..<8 {
                try? Self.publish(data, k..<(k + 1), dir: dir, bootstrap: bootstrap)
                Thread.sleep(forTimeInterval: 1.0)
            }
        }
        producer.start()
        var rng = SeededGenerator(seed: 41)
        func start(_ slot: Int, _ i: Int) throws -> RunProcess {
            try RunProcess([s.dir + "/lpart.yaml", "--brokers", s.broker.bootstrap, "--metrics-port", "off", "--session-timeout-ms", "4000",
                            "-X", "heartbeat.interval.ms=400", "--partitioned", "--weights-max-lead", "256", "--checkpoint-interval", "500"],
                           dir: s.dir, tag: "kill-\(slot)-\(i)")
        }
        var slots = try [start(0, 0), start(1, 0)]
        var holderKills = 0
        for i in 0..<4 {
            let slot = i % 2
            let victim = slots[slot]
            _ = victim.waitForEvents(timeout: 30)
            Thread.sleep(forTimeInterval: Double.random(in: 0.3...1.5, using: &rng))
            #expect(victim.process.isRunning, "instance \(slot) exited early: \(victim.stderr.suffix(2000))")
            if victim.stderr.contains("global stage active") { holderKills += 1 }
            victim.signal(SIGKILL)
            _ = victim.wait(10)
            slots[slot] = try start(slot, i + 1)
        }
        while producer.isExecuting { Thread.sleep(forTimeInterval: 0.1) }
        for r in slots { _ = r.waitFor("weir.run", timeout: 30) }
        Thread.sleep(forTimeInterval: 2)
        for r in slots { r.signal(SIGTERM) }
        for (i, r) in slots.enumerated() { #expect(r.wait(60) == 0, "graceful stop \(i): \(r.stderr.suffix(2000))") }
        let last = try Self.run(s, "lpart", tag: "kill-final", partitioned: true)
        #expect(last.wait(120) == 0, "final run: \(last.diagnosis)")
        let single = try Self.run(s, "lsingle", tag: "kill-single", partitioned: false)
        #expect(single.wait(120) == 0, "one instance: \(single.diagnosis)")
        #expect(holderKills >= 1, "no kill hit the global-stage holder")

        let (got, want, scores) = try Self.expectLikeOneInstance(last, single, expected: expected, s: s, after: "after 4 kills")
        print("partitioned label topic under 4 kills (\(holderKills) of the global-stage holder): \(got.model) vs one instance \(want.model); \(scores.count - 4000) duplicate scores")
    }

    /// Elasticity with a label topic: the stream arrives (a chunk a second) while one partitioned
    /// instance runs; a second and a third join; then the three restart one by one with graceful
    /// stops (as a Kubernetes rolling update does: each hands its tasks over with a checkpoint,
    /// the global-stage holder its lease); then one instance runs to the end. The label counts
    /// equal one uninterrupted instance's, its prequential log loss within 1%, every event is
    /// scored, and the global stage moved at least once.
    @Test func instancesJoinAndRestartOneByOneWithoutLosingALabel() throws {
        let data = Data(seed: 5)
        let expected = [data.joined, data.joined, 3, 50, 2]
        let s = try Self.setUp()
        defer { try? FileManager.default.removeItem(atPath: s.dir) }
        let (dir, bootstrap) = (s.dir, s.broker.bootstrap)
        let producer = Thread {
            for k in 0..<8 {
                try? Self.publish(data, k..<(k + 1), dir: dir, bootstrap: bootstrap)
                Thread.sleep(forTimeInterval: 1.0)
            }
        }
        func start(_ tag: String) throws -> RunProcess {
            try RunProcess([s.dir + "/lpart.yaml", "--brokers", s.broker.bootstrap, "--metrics-port", "off", "--session-timeout-ms", "4000",
                            "-X", "heartbeat.interval.ms=400", "--partitioned", "--weights-max-lead", "256", "--checkpoint-interval", "500"],
                           dir: s.dir, tag: "elastic-\(tag)")
        }
        let a = try start("a")
        producer.start()
        #expect(a.waitForEvents(timeout: 60), "a processed nothing: \(a.stderr.suffix(2000))")
        var running = ["a": a]
        for name in ["b", "c"] {
            let r = try start(name)
            #expect(r.waitFor("task events/", timeout: 60), "\(name) got no partition: \(r.stderr.suffix(2000))")
            running[name] = r
        }
        var logs = try PartitionedElasticityTests.rollingRestart(&running, order: ["a", "b", "c"], settle: 1, start: start)
        while producer.isExecuting { Thread.sleep(forTimeInterval: 0.1) }
        Thread.sleep(forTimeInterval: 2)
        for r in running.values { r.signal(SIGTERM) }
        for (name, r) in running {
            #expect(r.wait(60) == 0, "graceful stop of \(name)2: \(r.stderr.suffix(2000))")
            logs.append(r.stderr)
        }
        let last = try Self.run(s, "lpart", tag: "elastic-final", partitioned: true)
        #expect(last.wait(120) == 0, "final run: \(last.diagnosis)")
        logs.append(last.stderr)
        let single = try Self.run(s, "lsingle", tag: "elastic-single", partitioned: false)
        #expect(single.wait(120) == 0, "one instance: \(single.diagnosis)")

        let (got, want, scores) = try Self.expectLikeOneInstance(last, single, expected: expected, s: s, after: "after joins and a rolling restart")
        let holders = logs.filter { $0.contains("global stage active") }.count
        #expect(holders >= 2, "the global stage should have moved during the rolling restart")
        print("partitioned label topic, joins and a rolling restart (global stage on \(holders) runs): \(got.model) vs one instance \(want.model); \(scores.count - 4000) duplicate scores")
    }

    /// [ops] What an operator sees of a label topic on `/metrics`, scraped from running instances
    /// and parsed by prometheus_client once everything published is processed: one partitioned
    /// instance (its tasks, the global stage) and one instance, side by side. `weir_consumer_lag`
    /// per partition of every topic each reads (the source; `lpart.global` and the label topic
    /// at the global stage) at 0, no label held, and the event, score, label and dead-letter
    /// counters equal across the two and to what was published (4,000 events and a malformed one,
    /// the joined labels, the 2 undecodable labels); the partitioned gauges (4 task restores,
    /// weights age, held bytes). Both log the dead letters (the event's with its position).
    @Test(.requires(OperationsTests.python))
    func lagOfEveryTopicReadAndHeldLabelsOnMetrics() throws {
        let data = Data(seed: 5)
        let s = try Self.setUp()
        defer { try? FileManager.default.removeItem(atPath: s.dir) }
        try Self.publish(data, 0..<8, dir: s.dir, bootstrap: s.broker.bootstrap)
        // One malformed event: a dead letter of a task (one instance: of its pipeline).
        try "u1\t{\"event_id\":\"broken\n".write(toFile: s.dir + "/bad.txt", atomically: true, encoding: .utf8)
        _ = try tool("kcat", ["-P", "-b", s.broker.bootstrap, "-t", "events", "-K", "\t", "-l", s.dir + "/bad.txt"])
        let ports = try [PartitionedServingTests.freePort(), PartitionedServingTests.freePort()]
        let common = ["--brokers", s.broker.bootstrap, "--metrics-host", "127.0.0.1", "--session-timeout-ms", "6000", "-X", "heartbeat.interval.ms=500"]
        let part = try RunProcess([s.dir + "/lpart.yaml", "--partitioned", "--weights-max-lead", "256", "--metrics-port", String(ports[0])] + common,
                                  dir: s.dir, tag: "metrics-part")
        let single = try RunProcess([s.dir + "/lsingle.yaml", "--metrics-port", String(ports[1])] + common, dir: s.dir, tag: "metrics-single")

        typealias Samples = [[String: Any]]
        func value(_ samples: Samples, _ name: String, _ labels: [String: String] = [:]) -> Double? {
            let m = samples.filter { x in x["name"] as? String == name && labels.allSatisfy { k, v in (x["labels"] as? [String: String])?[k] == v } }
            return m.count == 1 ? (m[0]["value"] as? NSNumber)?.doubleValue : nil
        }
        // Per instance, the lag series it must show: topic -> partitions.
        let wanted: [(String, [String: Int])] = [("lpart", ["events": 4, "lpart.global": 4, "labels": 2]), ("lsingle", ["events": 4, "labels": 2])]
        func settled(_ samples: Samples, _ topology: String, _ topics: [String: Int]) -> Bool {
            let t = ["topology": topology]
            return value(samples, "weir_events_in_total", t) == 4001 && value(samples, "weir_model_labelled_total", t) == Double(data.joined)
                && value(samples, "weir_labels_held", t) == 0
                && topics.allSatisfy { topic, n in (0..<n).allSatisfy { value(samples, "weir_consumer_lag", ["topic": topic, "partition": String($0)].merging(t) { a, _ in a }) == 0 } }
        }
        var scraped: [Samples] = [[], []]
        let deadline = Date().addingTimeInterval(150)
        while Date() < deadline && part.process.isRunning && single.process.isRunning {
            for k in 0..<2 {
                let text = OperationsTests.get("http://127.0.0.1:\(ports[k])/metrics").body
                if !text.isEmpty { scraped[k] = try #require(try OperationsTests.parseWithPrometheusClient(text), "not Prometheus text: \(text.prefix(300))") }
            }
            if (0..<2).allSatisfy({ settled(scraped[$0], wanted[$0].0, wanted[$0].1) }) { break }
            Thread.sleep(forTimeInterval: 0.5)
        }
        for (k, (topology, topics)) in wanted.enumerated() {
            let t = ["topology": topology]
            let lags = scraped[k].filter { $0["name"] as? String == "weir_consumer_lag" }
                .map { x in ((x["labels"] as? [String: String]).map { "\($0["topic"] ?? "")/\($0["partition"] ?? "")" } ?? "", (x["value"] as? NSNumber)?.doubleValue ?? -1) }
            // Exactly the partitions of the topics it reads, each at 0.
            #expect(Set(lags.map(\.0)) == Set(topics.flatMap { topic, n in (0..<n).map { "\(topic)/\($0)" } }), "\(topology): \(lags)")
            #expect(lags.allSatisfy { $0.1 == 0 }, "\(topology): \(lags)")
            #expect(value(scraped[k], "weir_labels_held", t) == 0)
            #expect(value(scraped[k], "weir_events_in_total", t.merging(["topic": "events"]) { a, _ in a }) == 4001, "\(topology)")
            #expect(value(scraped[k], "weir_dead_letters_total", t.merging(["reason": "malformed_json"]) { a, _ in a }) == 1, "\(topology): the malformed event")
            #expect(value(scraped[k], "weir_model_scored_total", t) == 4000, "\(topology)")
            #expect(value(scraped[k], "weir_model_labelled_total", t) == Double(data.joined), "\(topology)")
            #expect(value(scraped[k], "weir_events_out_total", t.merging(["kind": "dead_letters"]) { a, _ in a }) == 3, "\(topology): the event and the 2 undecodable labels")
            #expect((value(scraped[k], "weir_model_prequential_log_loss", t) ?? 0) > 0, "\(topology)")
            #expect(value(scraped[k], "weir_assigned_partitions", t) == 4, "\(topology): the source partitions it holds")
            #expect((value(scraped[k], "weir_rebalances_total", t) ?? 0) >= 1, "\(topology)")
        }
        let p = ["topology": "lpart"]
        #expect(value(scraped[0], "weir_task_restores_total", p) == 4)
        #expect((value(scraped[0], "weir_task_restore_seconds", p) ?? -1) >= 0)
        #expect((value(scraped[0], "weir_weights_age_seconds", p) ?? -1) >= 0)
        #expect(value(scraped[0], "weir_global_held_bytes", p) == 0)
        let (lossPart, lossSingle) = (value(scraped[0], "weir_model_prequential_log_loss", p) ?? 0, value(scraped[1], "weir_model_prequential_log_loss", ["topology": "lsingle"]) ?? 0)
        #expect(abs(lossPart - lossSingle) <= 0.01 * lossSingle, "the global stage's prequential log loss \(lossPart) vs one instance's \(lossSingle)")
        // Both log the dead letters: the event's with its position, the labels' counted.
        for r in [part, single] {
            #expect(r.stderr.range(of: #"dead letter: .*offset=[0-9]+ partition=[0-9]+ reason=malformed_json topic=events"#, options: .regularExpression) != nil,
                    "\(r.diagnosis)")
            #expect(r.stderr.contains("undecodable label records (in the dead-letter topic)"), "\(r.diagnosis)")
        }
        for r in [part, single] { r.signal(SIGTERM) }
        #expect(part.wait(60) == 0, "partitioned: \(part.stderr.suffix(2000))")
        #expect(single.wait(60) == 0, "one instance: \(single.stderr.suffix(2000))")
    }
}
