import Testing
@testable import WeirRuntime

/// ``AssignmentStateMachine``: every transition of a source partition's lifecycle, without a broker.
@Suite struct AssignmentStateMachineTests {
    static func offsets(_ pairs: [(Int32, Int64)]) -> [Checkpoint.SourceOffset] {
        pairs.map { Checkpoint.SourceOffset(partition: $0.0, offset: $0.1) }
    }

    @Test func assignmentResetsPositionsAndReports() {
        var m = AssignmentStateMachine()
        #expect(m.phase(of: 0) == .unassigned)
        let actions = m.assigned(source: [0, 2], labels: [1])
        #expect(actions == [.resetPositions(source: [0, 2], labels: [1]), .reportAssigned([0, 2], count: 2)])
        #expect(m.assigned == [0, 2])
        #expect(m.phase(of: 0) == .reading)
        #expect(m.phase(of: 1) == .unassigned)
    }

    @Test func restoredOffsetsStayCoveredBeforeAssignment() {
        let m = AssignmentStateMachine(restored: Self.offsets([(0, 10), (1, 20)]))
        // A checkpoint covers every partition of the restored one, assigned yet or not.
        #expect(m.processed == [0: 10, 1: 20])
        #expect(m.assigned.isEmpty)
    }

    @Test func processedKeepsTheMaximumPerPartition() {
        var m = AssignmentStateMachine(restored: Self.offsets([(0, 10)]))
        m.processed(0, through: 15)
        m.processed(0, through: 12)
        m.processed(1, through: 3)
        #expect(m.processed == [0: 15, 1: 3])
    }

    @Test func endOfPartitionThenReadToEndThenEnded() {
        var m = AssignmentStateMachine()
        _ = m.assigned(source: [0], labels: [])
        m.processed(0, through: 3)
        m.reachedEnd(partition: 0, offset: 5)
        #expect(m.phase(of: 0) == .reading)
        m.processed(0, through: 5)
        #expect(m.phase(of: 0) == .atEnd)
        #expect(m.partitionsReadToEnd(drained: false).isEmpty)  // records still held: not yet
        #expect(m.partitionsReadToEnd(drained: true) == [0])
        #expect(m.phase(of: 0) == .ended)
        #expect(m.partitionsReadToEnd(drained: true).isEmpty)  // reported once
    }

    /// A partition counts as read to its end once it processed up to its reported end; one with
    /// nothing processed (empty) as soon as its end is reported (records read but still held
    /// are covered by `drained`). `--stop-at-end` on a topic with an empty partition must not wait for it.
    @Test func stopAtEndWithAnEmptyPartition() {
        var m = AssignmentStateMachine()
        _ = m.assigned(source: [0, 1], labels: [])
        m.reachedEnd(partition: 1, offset: 0)  // empty
        #expect(m.phase(of: 1) == .atEnd)
        #expect(m.partitionsReadToEnd(drained: true) == [1])
        #expect(!m.boundedRunComplete(sawInput: false, drained: true))  // partition 0 has no end yet
        m.processed(0, through: 7)
        m.reachedEnd(partition: 0, offset: 7)
        #expect(!m.boundedRunComplete(sawInput: true, drained: true))  // input in the last poll
        #expect(!m.boundedRunComplete(sawInput: false, drained: false))  // records held
        #expect(m.partitionsReadToEnd(drained: true) == [0])
        #expect(m.boundedRunComplete(sawInput: false, drained: true))
    }

    /// A partition whose end lies past its last record processed (a tombstone the pipeline is
    /// not given; on a Kafka broker also a transaction's commit marker) is read to its end once
    /// everything delivered is processed (`drained`: librdkafka reports the end after the
    /// records before it), and its position moves to the end, so the bounded run completes and
    /// a checkpoint covers it. Before, it never counted as read to its end (the run never ended).
    /// After lost partitions go back to a checkpoint, an end reported before counts no more.
    @Test func anEndPastTheLastRecordIsReachedOnceDrained() {
        var m = AssignmentStateMachine()
        _ = m.assigned(source: [0], labels: [])
        m.processed(0, through: 5)
        m.reachedEnd(partition: 0, offset: 6)  // offset 5 is a tombstone, or a commit marker
        #expect(m.phase(of: 0) == .reading)
        #expect(m.partitionsReadToEnd(drained: false).isEmpty)
        #expect(m.partitionsReadToEnd(drained: true) == [0])
        #expect(m.processed[0] == 6 && m.boundedRunComplete(sawInput: false, drained: true))

        var r = AssignmentStateMachine()
        _ = r.assigned(source: [0], labels: [])
        r.processed(0, through: 9)
        r.reachedEnd(partition: 0, offset: 9)
        _ = r.lost(source: [0], labels: [])
        _ = r.assigned(source: [0], labels: [])
        let (_, seek) = r.resume(from: Self.offsets([(0, 4)]))
        #expect(seek.map(\.offset) == [4])
        #expect(r.partitionsReadToEnd(drained: true).isEmpty, "the end reported before the seek back does not count")
        #expect(r.processed[0] == 4)
    }

    @Test func boundedRunNeverCompletesWithoutAssignment() {
        let m = AssignmentStateMachine()
        #expect(!m.boundedRunComplete(sawInput: false, drained: true))
    }

    @Test func reassignmentForgetsTheOldEnd() {
        var m = AssignmentStateMachine()
        _ = m.assigned(source: [0], labels: [])
        m.reachedEnd(partition: 0, offset: 0)
        #expect(m.phase(of: 0) == .atEnd)
        _ = m.assigned(source: [0], labels: [])
        #expect(m.phase(of: 0) == .reading)
    }

    @Test func revokeForgetsOffsetsAndDropsHeldRecords() {
        var m = AssignmentStateMachine(restored: Self.offsets([(0, 10), (1, 20)]))
        _ = m.assigned(source: [0, 1], labels: [0])
        m.reachedEnd(partition: 1, offset: 20)
        let actions = m.revoked(source: [1], labels: [0])
        #expect(actions == [.dropHeld(source: [1], labels: [0]), .reportRevoked([1], count: 1)])
        #expect(m.assigned == [0])
        #expect(m.processed == [0: 10])
        #expect(m.endOffset[1] == nil)
        #expect(m.phase(of: 1) == .unassigned)
    }

    @Test func lostPartitionsKeepTheirOffsetsUntilResumed() {
        var m = AssignmentStateMachine(restored: Self.offsets([(0, 10), (1, 20)]))
        _ = m.assigned(source: [0, 1], labels: [0])
        m.processed(1, through: 25)
        let actions = m.lost(source: [1], labels: [0])
        #expect(actions == [.unassignLabels([0]), .reportRevoked([1], count: nil)])
        #expect(m.assigned == [0])
        #expect(m.lostSource == [1])
        #expect(m.lostLabels == [0])
        #expect(m.processed[1] == 25)
        #expect(m.phase(of: 1) == .lost)
        // Resumed from a checkpoint at 0@12, 1@18: processed goes back; only assigned ones seek.
        let to = m.resume(from: Self.offsets([(0, 12), (1, 18)]))
        #expect(to.start == Self.offsets([(0, 12), (1, 18)]))
        #expect(to.seek == Self.offsets([(0, 12)]))
        #expect(m.processed == [0: 12, 1: 18])
        #expect(m.lostSource.isEmpty && m.lostLabels.isEmpty)
        #expect(m.phase(of: 1) == .unassigned)
    }

    @Test func lostThenReassignedBeforeTheResumeSeeksBack() {
        var m = AssignmentStateMachine(restored: Self.offsets([(0, 10)]))
        _ = m.assigned(source: [0], labels: [])
        m.processed(0, through: 40)
        _ = m.lost(source: [0], labels: [])
        _ = m.assigned(source: [0], labels: [])
        // Still lost: the work since the checkpoint was not checked; it must go back with the state.
        #expect(m.phase(of: 0) == .lost)
        #expect(m.lostSource == [0])
        let to = m.resume(from: Self.offsets([(0, 10)]))
        #expect(to.seek == Self.offsets([(0, 10)]))
        #expect(m.processed == [0: 10])
        #expect(m.phase(of: 0) == .reading)
    }

    @Test func resumeWithoutACheckpointStartsEmpty() {
        var m = AssignmentStateMachine()
        _ = m.assigned(source: [0], labels: [])
        m.processed(0, through: 9)
        _ = m.lost(source: [0], labels: [])
        let to = m.resume(from: nil)
        #expect(to.start.isEmpty && to.seek.isEmpty)
        #expect(m.processed.isEmpty)
    }

    @Test func labelPartitionsLostAlone() {
        var m = AssignmentStateMachine()
        _ = m.assigned(source: [0], labels: [0, 1])
        let actions = m.lost(source: [], labels: [1])
        #expect(actions == [.unassignLabels([1]), .reportRevoked([], count: nil)])
        #expect(m.lostSource.isEmpty)
        #expect(m.lostLabels == [1])
        #expect(m.assigned == [0])
        var fencing = FencingStateMachine()
        // Label partitions alone still need the check (of no source partition) and the resume.
        #expect(fencing.poll(lostSource: m.lostSource, labelsLost: !m.lostLabels.isEmpty, checkpointsKept: true) == .checkOwnership(partitions: []))
    }

    @Test func groupFencedMarksEverythingHeldOrCoveredLost() {
        var m = AssignmentStateMachine(restored: Self.offsets([(0, 10), (3, 30)]))
        _ = m.assigned(source: [0, 1], labels: [0])
        m.allLost(labelsHeld: [0, 2])
        #expect(m.lostSource == [0, 1, 3])
        #expect(m.lostLabels == [0, 2])
        // Not unassigned: the group has not said so yet; they go back to the checkpoint on resume.
        #expect(m.assigned == [0, 1])
    }

    @Test func lagPerAssignedPartition() {
        var m = AssignmentStateMachine(restored: Self.offsets([(0, 10)]))
        _ = m.assigned(source: [0, 1, 2], labels: [])
        let lag = m.lag { p in
            switch p {
            case 0: return (low: 0, high: 15)
            case 1: return (low: 4, high: 9)  // nothing processed: from the low watermark
            default: return nil
            }
        }
        #expect(lag == [0: 5, 1: 5])
        m.processed(0, through: 20)  // past a stale cached watermark: never negative
        #expect(m.lag { _ in (low: 0, high: 15) }[0] == 0)
    }
}
