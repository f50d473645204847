import Testing
@testable import WeirRuntime

/// ``CheckpointStateMachine``: schedule, dirty tracking, hand-over and failures, without a broker.
@Suite struct CheckpointStateMachineTests {
    let t0 = ContinuousClock.now

    @Test func scheduleRunsFromStartToStart() {
        var m = CheckpointStateMachine(interval: .seconds(1), start: t0)
        #expect(m.tick(now: t0 + .milliseconds(999)) == nil)
        #expect(m.tick(now: t0 + .seconds(1)) == .checkpoint(revoking: false))
        m.scheduled(from: t0 + .seconds(1))
        #expect(m.tick(now: t0 + .milliseconds(1_500)) == nil)
        #expect(m.tick(now: t0 + .seconds(2)) == .checkpoint(revoking: false))
    }

    @Test func zeroIntervalNeverSchedules() {
        let m = CheckpointStateMachine(interval: .zero, start: t0)
        #expect(m.tick(now: t0 + .seconds(3_600)) == nil)
        #expect(m.stop() == .checkpoint(revoking: false))
    }

    @Test func dirtyTracking() {
        var m = CheckpointStateMachine(interval: .seconds(1), start: t0)
        #expect(m.state == .idle)
        #expect(!m.needsWrite(outputsPending: false))
        #expect(m.needsWrite(outputsPending: true))  // e.g. windows fired by a tick
        m.processed()
        #expect(m.state == .dirty)
        #expect(m.needsWrite(outputsPending: false))
        m.written()
        #expect(m.state == .idle)
        m.processed()
        m.resumed()  // state went back to a checkpoint
        #expect(m.state == .idle)
    }

    @Test func handOverCheckpointsFirst() {
        let m = CheckpointStateMachine(interval: .seconds(1), start: t0)
        #expect(m.handOver() == .checkpoint(revoking: true))
    }

    @Test func revokeWhileAFailureIsPendingWritesNothing() {
        var m = CheckpointStateMachine(interval: .seconds(1), start: t0)
        m.processed()
        m.failed()
        #expect(m.state == .failed)
        #expect(m.handOver() == nil)
        #expect(m.tick(now: t0 + .seconds(10)) == nil)
        m.processed()  // stays failed
        #expect(m.state == .failed)
    }

    @Test func groupFencedDuringACheckpointTreatsPartitionsAsLost() {
        var m = CheckpointStateMachine(interval: .seconds(1), start: t0)
        m.processed()
        let began = t0 + .seconds(1)
        #expect(m.tick(now: began) == .checkpoint(revoking: false))
        #expect(m.groupFenced(began: began) == .treatPartitionsAsLost)
        // Nothing was written: still dirty; the next one is an interval later.
        #expect(m.state == .dirty)
        #expect(m.tick(now: began + .milliseconds(500)) == nil)
        // The runner marks everything lost; the fencing machine checks ownership of all of it.
        var assignment = AssignmentStateMachine(restored: [Checkpoint.SourceOffset(partition: 2, offset: 4)])
        _ = assignment.assigned(source: [0, 1], labels: [])
        assignment.allLost(labelsHeld: [])
        var fencing = FencingStateMachine()
        #expect(fencing.poll(lostSource: assignment.lostSource, labelsLost: false, checkpointsKept: true) == .checkOwnership(partitions: [0, 1, 2]))
    }
}
