import Foundation
import Testing
import WeirKafka
import WeirTestSupport
import WeirTopology
@testable import WeirRuntime

/// Serving requests are answered while the run loop waits for the broker at a commit (outputs
/// flushed, group offsets committed): the pipeline does not change then, so the wait is no reason
/// to make requests wait. Before, every commit (~30–40 ms on the benchmark broker, once a second)
/// held every request that arrived during it: ServeBench's p99.9 of 50–60 ms at 20% ingest.
@Suite(.serialized, .timeLimit(.minutes(2)))
struct ServingDuringCommitTests {
    /// When each answered request was submitted, from the requesting task.
    final class Requests: @unchecked Sendable {
        private let lock = NSLock()
        private var submitted: [ContinuousClock.Instant] = []
        private var statuses: [Int] = []
        private var stopped = false
        func add(_ at: ContinuousClock.Instant, _ status: Int) { lock.withLock { submitted.append(at); statuses.append(status) } }
        func stop() { lock.withLock { stopped = true } }
        var isStopped: Bool { lock.withLock { stopped } }
        var all: ([ContinuousClock.Instant], [Int]) { lock.withLock { (submitted, statuses) } }
    }

    /// The first offset commit is answered 3 s late (the broker delays it). The loop is inside
    /// that commit for 3 s: its progress reports pause that long. The requester (one request at a
    /// time, every 20 ms) is answered throughout, and no request waits a second for the loop (the
    /// mailbox's own wait figures; without the waiting commit one request waits the whole 3 s and
    /// the rest are never sent).
    @Test func requestsAreAnsweredWhileACommitWaitsForTheBroker() throws {
        let broker = try RunLoopStallTests.brokerWithEvents(200, partitions: 2)
        defer { broker.stop() }
        // The group's first OffsetCommit (API 8): answered after 3 s.
        try broker.delayNextResponse(broker: 1, apiKey: 8, milliseconds: 3_000)

        var options = KafkaRunner.Options(brokers: broker.bootstrapServers, groupID: "servewait")
        options.checkpoints = .none
        options.maxDuration = .seconds(9)
        // RunLoopStallTests' topology: a per-user window, features served for `u1`.
        let compiled = try TopologyCompiler.compile(try TopologyLoader.parse(RunLoopStallTests.yaml, file: "stall.yaml"), partitions: 2)
        let box = ServingMailbox()
        let requests = Requests()
        let clock = ContinuousClock()
        let asking = Task.detached {
            while !requests.isStopped {
                let at = clock.now
                let reply = await box.submit(.features(key: "u1"))
                if reply.status != 503 { requests.add(at, reply.status) }  // 503: not active yet
                try? await Task.sleep(for: .milliseconds(20))
            }
        }
        defer { requests.stop() }
        var runner = KafkaRunner(options: options, embedded: broker)
        runner.serving = box
        var reports: [ContinuousClock.Instant] = []
        runner.onProgress = { _ in reports.append(clock.now) }
        let pipeline = try runner.run(compiled)
        requests.stop()
        _ = asking

        #expect(pipeline.counters.records == 200)
        // The loop sat in the delayed commit: one gap between progress reports of ~3 s.
        let gaps = zip(reports, reports.dropFirst()).map { (from: $0, to: $1) }
        let longest = try #require(gaps.max { $0.to - $0.from < $1.to - $1.from })
        #expect(longest.to - longest.from >= .milliseconds(2_500), "the commit did not block the loop (longest progress gap \(longest.to - longest.from))")
        let (submitted, statuses) = requests.all
        // 404 only before the key's first events are processed.
        #expect(statuses.allSatisfy { $0 == 200 || $0 == 404 } && statuses.filter { $0 == 200 }.count >= 10, "\(statuses)")
        // The commit is the gap's last 3 s (the report before it came a second before the commit).
        let duringCommit = submitted.filter { $0 > longest.to - .milliseconds(2_900) && $0 < longest.to - .milliseconds(100) }.count
        #expect(duringCommit >= 20, "\(duringCommit) requests were answered while the loop was in the commit")
        let waits = box.waitStats
        #expect(waits.count >= duringCommit)
        #expect(waits.maxNanoseconds < 1_000_000_000, "a request waited \(waits.maxNanoseconds / 1_000_000) ms for the loop during its 3 s commit")
    }
}
