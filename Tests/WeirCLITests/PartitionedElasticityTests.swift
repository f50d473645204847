import Foundation
import Testing
import WeirTestSupport

/// Elasticity of `weir run --partitioned` (issue 16) while a backlog is worked through: one instance, a second and a third joining mid-stream, then a rolling restart of the three one
/// by one (graceful stops, as Kubernetes does). Nothing is lost (every source position scored
/// with the reference's keyed features; drift, alert, retrain and model records, duplicates
/// dropped by their headers, equal one instance's `--order timestamp` run), and a join moves
/// only some partitions: the instance already running restores none of those it keeps
/// (cooperative-sticky; an eager rebalance would revoke and restore them all).
@Suite(.serialized, .timeLimit(.minutes(8)), .requires(.kcat))
struct PartitionedElasticityTests {
    typealias T = PartitionedRunTests

    /// Lines of a run's log that start a task (a restore, or an empty start), per partition.
    static func taskStarts(_ log: String) -> [Int: Int] {
        var out: [Int: Int] = [:]
        for line in log.split(separator: "\n") where line.contains("started empty in") || line.contains("restored from checkpoint epoch") {
            guard let r = line.range(of: #"task transactions/[0-9]+ "#, options: .regularExpression) else { continue }
            let p = Int(line[r].dropFirst("task transactions/".count).dropLast())!
            out[p, default: 0] += 1
        }
        return out
    }

    /// A rolling update: each instance in `order` stops gracefully (SIGTERM, exit 0 expected) and
    /// is started again as `<name>2`, which must come up before the next one stops, `settle`
    /// seconds apart. Returns the stopped instances' logs; `running` holds the new ones.
    static func rollingRestart(_ running: inout [String: RunProcess], order: [String], settle: TimeInterval,
                               start: (String) throws -> RunProcess) throws -> [String] {
        var logs: [String] = []
        for name in order {
            let old = running[name]!
            old.signal(SIGTERM)
            #expect(old.wait(60) == 0, "graceful stop of \(name): \(old.stderr.suffix(2000))")
            logs.append(old.stderr)
            let again = try start(name + "2")
            #expect(again.waitFor("weir.run", timeout: 30) || again.waitForEvents(timeout: 30), "\(name) restarted: \(again.stderr.suffix(2000))")
            running[name] = again
            Thread.sleep(forTimeInterval: settle)
        }
        return logs
    }

    static func revocations(_ log: String) -> Int {
        log.split(separator: "\n").filter { $0.range(of: #"task transactions/[0-9]+ revoked"#, options: .regularExpression) != nil }.count
    }

    @Test func instancesJoinAndRestartOneByOneUnderInputAndNothingIsLost() throws {
        let s = try T.setUp()
        defer { try? FileManager.default.removeItem(atPath: s.dir) }
        // The whole input first: a backlog the instances work through while they come and go (at the
        // head of a live stream the global stage's merge may group events into drift windows
        // differently from a replay, docs/scaling.md, so equality with the reference is shown on a backlog).
        try T.produce(s, "events.jsonl")
        let flags = ["--partitioned", "--weights-max-lead", "256", "--checkpoint-interval", "500"]
        func start(_ tag: String) throws -> RunProcess {
            try RunProcess([s.dir + "/cfpart.yaml", "--brokers", s.broker.bootstrap, "--metrics-port", "off", "--session-timeout-ms", "6000",
                            "-X", "heartbeat.interval.ms=500"] + flags, dir: s.dir, tag: tag)
        }
        let a = try start("a")
        #expect(a.waitForEvents(timeout: 60), "a: \(a.stderr.suffix(2000))")
        let b = try start("b")
        #expect(b.waitFor("task transactions/", timeout: 60), "b got no partition: \(b.stderr.suffix(2000))")
        #expect(b.waitForEvents(timeout: 60), "b processed nothing: \(b.stderr.suffix(2000))")
        // The join moved some of a's partitions; a restored none of those it kept.
        let aStarts = Self.taskStarts(a.stderr)
        #expect(aStarts.values.allSatisfy { $0 == 1 } && aStarts.count == 4, "a's task starts: \(aStarts)")
        #expect((1...3).contains(Self.revocations(a.stderr)), "a revoked \(Self.revocations(a.stderr)) of 4")
        let c = try start("c")
        #expect(c.waitFor("task transactions/", timeout: 60), "c got no partition: \(c.stderr.suffix(2000))")
        #expect(c.waitForEvents(timeout: 60), "c processed nothing: \(c.stderr.suffix(2000))")

        // Rolling restart: each instance stops gracefully and comes back.
        var running = ["a": a, "b": b, "c": c]
        var logs = try Self.rollingRestart(&running, order: ["a", "b", "c"], settle: 2, start: start)
        Thread.sleep(forTimeInterval: 3)
        for r in running.values { r.signal(SIGTERM) }
        for (name, r) in running { #expect(r.wait(60) == 0, "graceful stop of \(name)2: \(r.stderr.suffix(2000))"); logs.append(r.stderr) }
        // Whatever is left (if anything): one instance to the end.
        let last = try T.run(s, topology: "cfpart", tag: "elastic-final", extra: ["--partitioned", "--weights-max-lead", "256"])
        #expect(last.wait(240) == 0, "final run: \(last.diagnosis)")
        logs.append(last.stderr)
        let single = try T.run(s, topology: "cfsingle", tag: "elastic-single", extra: ["--order", "timestamp"])
        #expect(single.wait(240) == 0, "reference: \(single.diagnosis)")

        let restores = logs.map { Self.taskStarts($0).values.reduce(0, +) }.reduce(0, +)
        let holders = logs.filter { $0.contains("global stage active") }.count
        let (copies, positions, duplicates) = try T.expectNothingLost(s)
        #expect(holders >= 2, "the global stage should have moved during the rolling restart")
        let finalProgress = last.stderr.split(separator: "\n").last { $0.hasPrefix("[") } ?? "none"
        print("partitioned elasticity: \(restores) task starts over \(logs.count) runs, global stage on \(holders), \(copies - positions) duplicate scores, \(duplicates) duplicate global-stage records; left for the final run: \(finalProgress)")
    }
    /// A zombie task owner: an instance paused (SIGSTOP) past its session while a replacement
    /// takes its partitions over and checkpoints them. Resumed, it must not write over the
    /// replacement's state: it either drops its tasks as lost, or a checkpoint it tries is refused
    /// by the changelog partition's ownership check (exit 2, "fenced"). Then nothing is lost.
    @Test func aPausedOwnerCannotCheckpointOverItsReplacement() throws {
        let s = try T.setUp()
        defer { try? FileManager.default.removeItem(atPath: s.dir) }
        try T.produce(s, "events.jsonl")
        func start(_ tag: String) throws -> RunProcess {
            try RunProcess([s.dir + "/cfpart.yaml", "--brokers", s.broker.bootstrap, "--metrics-port", "off", "--session-timeout-ms", "3000",
                            "-X", "heartbeat.interval.ms=300", "--partitioned", "--weights-max-lead", "256", "--checkpoint-interval", "300",
                            "--instance-id", tag], dir: s.dir, tag: tag)
        }
        let zombie = try start("zombie")
        #expect(zombie.waitForEvents(timeout: 60), "zombie processed nothing: \(zombie.stderr.suffix(2000))")
        Thread.sleep(forTimeInterval: 1)
        zombie.signal(SIGSTOP)
        let replacement = try start("replacement")
        #expect(replacement.waitFor("restored from checkpoint epoch", timeout: 60), "the replacement restored nothing: \(replacement.stderr.suffix(2000))")
        Thread.sleep(forTimeInterval: 3)  // it processes and checkpoints the partitions it took over
        zombie.signal(SIGCONT)
        let status = zombie.wait(20)
        let log = zombie.stderr
        let held = Self.taskStarts(log).keys.sorted()
        if status == nil {
            // Still running: every task it held was dropped as lost, none checkpointed over the replacement.
            for p in held { #expect(log.contains("task transactions/\(p) lost"), "task \(p) of the zombie: \(log.suffix(2000))") }
            zombie.signal(SIGTERM)
            #expect(zombie.wait(30) == 0, "zombie stop: \(zombie.stderr.suffix(2000))")
        } else {
            #expect(status == 2 && log.contains("fenced"), "zombie exit \(String(describing: status)): \(log.suffix(2000))")
        }
        replacement.signal(SIGTERM)
        #expect(replacement.wait(60) == 0, "replacement stop: \(replacement.stderr.suffix(2000))")
        let last = try T.run(s, topology: "cfpart", tag: "zombie-final", extra: ["--partitioned", "--weights-max-lead", "256"])
        #expect(last.wait(240) == 0, "final run: \(last.diagnosis)")
        let single = try T.run(s, topology: "cfsingle", tag: "zombie-single", extra: ["--order", "timestamp"])
        #expect(single.wait(240) == 0, "reference: \(single.diagnosis)")
        let (copies, positions, duplicates) = try T.expectNothingLost(s)
        print("partitioned zombie: exit \(String(describing: status)), held \(held), \(copies - positions) duplicate scores, \(duplicates) duplicate global-stage records")
    }
}
