import Foundation
import Testing
import WeirCore
import WeirTopology
@testable import WeirRuntime

/// The mailbox between HTTP handlers and the run loop: bounded (503 `busy` beyond capacity),
/// answered only by ``ServingMailbox/serve(_:now:)``, refused (503 with the role) unless active.
@Suite struct ServingMailboxTests {
    static func pipeline() throws -> Pipeline {
        var p = try Pipeline(compiled: try ServingConsistencyTests.compile())
        var sink = RecordingSink()
        let lines = ServingConsistencyTests.events(50)
        try p.process(ServingConsistencyTests.batch(lines[0..<50], first: 0), topic: "transactions", now: 0, into: &sink)
        return p
    }

    /// Waits (bounded) until `n` requests are queued.
    static func waitQueued(_ box: ServingMailbox, _ n: Int) async throws {
        for _ in 0..<2_000 where box.queued < n { try await Task.sleep(for: .milliseconds(5)) }
        #expect(box.queued == n)
    }

    @Test func requestsWaitForTheRunLoopAndAreBounded() async throws {
        let pipeline = try Self.pipeline()
        let box = ServingMailbox(capacity: 2)
        #expect(box.serve(pipeline, now: 0) == 0)
        // Not active: refused at once with the role.
        let standby = await box.submit(.features(key: "u1"))
        #expect(standby.status == 503 && standby.text.contains(#""error":"standby""#))
        box.role = .active
        let first = Task { await box.submit(.features(key: "u1")) }
        let second = Task { await box.submit(.score(event: Array(ServingConsistencyTests.events(51)[50].utf8))) }
        try await Self.waitQueued(box, 2)
        // Full: the third is refused without waiting.
        let third = await box.submit(.features(key: "u2"))
        #expect(third.status == 503 && third.text.contains(#""error":"busy""#))
        #expect(box.serve(pipeline, now: 0) == 2)
        #expect(await first.value == pipeline.featuresReply(key: "u1"))
        #expect(await second.value.status == 200)
        #expect(box.serve(pipeline, now: 0) == 0)
    }

    /// A queued request wakes the run loop (the runner's consumer poll); a refused one does not.
    @Test func aQueuedRequestWakesTheRunLoop() async throws {
        final class Counter: @unchecked Sendable {
            let lock = NSLock()
            var n = 0
            func add() { lock.withLock { n += 1 } }
            var value: Int { lock.withLock { n } }
        }
        let wakes = Counter()
        let box = ServingMailbox(capacity: 1)
        box.wake = { wakes.add() }
        _ = await box.submit(.features(key: "u1"))  // standby: refused
        #expect(wakes.value == 0)
        box.role = .active
        let waiting = Task { await box.submit(.features(key: "u1")) }
        try await Self.waitQueued(box, 1)
        #expect(wakes.value == 1)
        _ = await box.submit(.features(key: "u2"))  // busy: refused
        #expect(wakes.value == 1)
        box.serve(try Self.pipeline(), now: 0)
        #expect(await waiting.value.status == 200)
    }

    /// Every answered request's wait for the run loop is recorded (refused ones are not): a
    /// request served after the loop was busy ~50 ms shows a wait at least that long.
    @Test func answeredRequestsRecordTheirWaitForTheRunLoop() async throws {
        let pipeline = try Self.pipeline()
        let box = ServingMailbox(capacity: 1)
        #expect(box.waitStats.count == 0 && box.waitStats.quantileBoundMicroseconds(0.99) == 0)
        _ = await box.submit(.features(key: "u1"))  // standby: refused, not recorded
        box.role = .active
        let waiting = Task { await box.submit(.features(key: "u1")) }
        try await Self.waitQueued(box, 1)
        _ = await box.submit(.features(key: "u2"))  // busy: refused, not recorded
        try await Task.sleep(for: .milliseconds(50))  // the run loop is busy with a batch
        #expect(box.serve(pipeline, now: 0) == 1)
        #expect(await waiting.value.status == 200)
        let w = box.waitStats
        #expect(w.count == 1 && w.buckets.reduce(0, +) == 1)
        #expect(w.maxNanoseconds >= 50_000_000 && w.totalNanoseconds == w.maxNanoseconds)
        // The bound is a power of two above the wait (or the maximum itself).
        let bound = w.quantileBoundMicroseconds(0.5)
        #expect(bound >= w.maxNanoseconds / 1_000 && bound <= w.maxNanoseconds / 1_000 + 1)
        #expect(w.summary.hasPrefix("1 requests waited for the run loop: p50 ≤ "))
    }

    /// The quantile bounds against a brute-force sort of the recorded waits.
    @Test func waitQuantileBoundsCoverTheSortedWaits() {
        var w = ServingMailbox.WaitStats()
        var rng = SystemRandomNumberGenerator()
        var all: [UInt64] = []
        for i in 0..<5_000 {
            // Mostly short, a quarter up to 200 ms, 1% beyond the last bucket (8.4 s .. 60 s).
            let ns = i % 100 == 0 ? UInt64.random(in: 8_400_000_000...60_000_000_000, using: &rng)
                : UInt64.random(in: 0...(UInt64.random(in: 0...3, using: &rng) == 0 ? 200_000_000 : 2_000_000), using: &rng)
            all.append(ns)
            w.record(nanoseconds: ns)
        }
        all.sort()
        #expect(w.count == all.count && w.maxNanoseconds == all.last!)
        for q in [0.5, 0.9, 0.98, 0.99, 0.995, 0.999] {
            let exact = all[Int((Double(all.count) * q).rounded(.up)) - 1] / 1_000  // µs
            let bound = w.quantileBoundMicroseconds(q)
            // Above the exact quantile, and less than twice it (power-of-two buckets), except in
            // the open-ended last bucket (bounded by the maximum).
            #expect(bound > exact)
            #expect(bound <= max(1, 2 * exact + 1) || (exact >= 1 << 22 && bound == all.last! / 1_000 + 1))
        }
    }

    /// Batches stay at the caller's size until a request is queued, shrink to `busyBatchEvents`
    /// while requests keep arriving, and grow back a second after the last one. A refused request
    /// (standby) does not count: no run loop is answering.
    @Test func batchesShrinkWhileRequestsArrive() async throws {
        let box = ServingMailbox(capacity: 4, busyBatchEvents: 64)
        #expect(box.batchLimit(otherwise: 1024) == 1024)
        _ = await box.submit(.features(key: "u1"))  // standby: refused
        #expect(box.batchLimit(otherwise: 1024) == 1024)
        box.role = .active
        let before = DispatchTime.now().uptimeNanoseconds
        let waiting = Task { await box.submit(.features(key: "u1")) }
        try await Self.waitQueued(box, 1)
        // Instants relative to the queueing (a busy test machine may pause this task for a second).
        let queued = box.lastQueuedNanoseconds
        #expect(queued >= before)
        #expect(box.batchLimit(otherwise: 1024, now: queued) == 64)
        #expect(box.batchLimit(otherwise: 32, now: queued) == 32)  // never above the caller's own bound
        box.serve(try Self.pipeline(), now: 0)
        #expect(await waiting.value.status == 200)
        // Answered, but a request arrived within the second: still small; then back to the caller's.
        #expect(box.batchLimit(otherwise: 1024, now: queued + ServingMailbox.busyWindowNanoseconds - 1) == 64)
        #expect(box.batchLimit(otherwise: 1024, now: queued + ServingMailbox.busyWindowNanoseconds) == 1024)
    }

    @Test func leavingActiveAnswersTheQueuedRequests() async throws {
        let box = ServingMailbox(capacity: 4)
        box.role = .active
        let waiting = Task { await box.submit(.features(key: "u1")) }
        try await Self.waitQueued(box, 1)
        box.role = .restoring
        let r = await waiting.value
        #expect(r.status == 503 && r.text.contains(#""error":"restoring""#))
        #expect(box.queued == 0)
    }
}
