import Testing
@testable import WeirRuntime

/// ``FencingStateMachine``: lost partitions → ownership check → fenced stop or resume.
@Suite struct FencingStateMachineTests {
    @Test func nothingLostNothingToDo() {
        var m = FencingStateMachine()
        #expect(m.poll(lostSource: [], labelsLost: false, checkpointsKept: true) == nil)
        #expect(m.state == .owning)
    }

    @Test func withoutCheckpointsLostPartitionsAreNotChecked() {
        var m = FencingStateMachine()
        #expect(m.poll(lostSource: [1], labelsLost: true, checkpointsKept: false) == nil)
        #expect(m.state == .owning)
    }

    @Test func notTakenOverResumesFromTheCheckpoint() {
        var m = FencingStateMachine()
        #expect(m.poll(lostSource: [2, 1], labelsLost: false, checkpointsKept: true) == .checkOwnership(partitions: [1, 2]))
        #expect(m.state == .checking([1, 2]))
        // One check at a time.
        #expect(m.poll(lostSource: [1, 2, 3], labelsLost: false, checkpointsKept: true) == nil)
        #expect(m.ownershipConfirmed() == [.dropUncheckedWork, .resetPipelineFromCheckpoint, .resumePartitions])
        #expect(m.state == .owning)
        // Lost again later: checked again.
        #expect(m.poll(lostSource: [3], labelsLost: false, checkpointsKept: true) == .checkOwnership(partitions: [3]))
    }

    @Test func takenOverStopsFenced() {
        var m = FencingStateMachine()
        _ = m.poll(lostSource: [5, 0], labelsLost: false, checkpointsKept: true)
        #expect(m.ownershipRefused() == .stopFenced(partitions: [0, 5]))
        #expect(m.state == .fenced)
        #expect(m.poll(lostSource: [1], labelsLost: false, checkpointsKept: true) == nil)
        #expect(m.ownershipConfirmed().isEmpty)
    }

    @Test func answersWithoutACheckAreIgnored() {
        var m = FencingStateMachine()
        #expect(m.ownershipConfirmed().isEmpty)
        #expect(m.ownershipRefused() == nil)
        #expect(m.state == .owning)
    }
}
