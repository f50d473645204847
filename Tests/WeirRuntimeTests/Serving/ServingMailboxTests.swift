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
