import Foundation
import Testing
@testable import WeirRuntime

/// ``LeaseStateMachine``: standby → active → revoked/lost → standby; stop.
@Suite struct LeaseStateMachineTests {
    final class Store: CheckpointStore {
        func load() throws -> Checkpoint? { nil }
        func save(_ checkpoint: Checkpoint) throws {}
        func saved(_ checkpoint: Checkpoint) throws {}
        func checkOwnership(owner: String, epoch: UInt64, partitions: Set<Int32>) throws {}
        var location: String { "test" }
    }

    @Test func firstTermHasNothingToCheck() {
        var m = LeaseStateMachine()
        #expect(m.waiting() == nil)
        #expect(m.acquired(true) == .runTerm)
        #expect(m.polled(lost: false, revoked: false) == nil)
        #expect(m.termEnded(.stopped) == .stop)
        // Stopped for good.
        #expect(m.acquired(true) == .stop)
        #expect(m.polled(lost: true, revoked: false) == nil)
    }

    @Test func stopBeforeTheLeaseComes() {
        var m = LeaseStateMachine()
        #expect(m.acquired(false) == .stop)
        #expect(m.polled(lost: true, revoked: true) == nil)
    }

    @Test func revokedStandsByWithoutACheck() {
        var m = LeaseStateMachine()
        _ = m.acquired(true)
        #expect(m.polled(lost: false, revoked: true) == .endTermRevoked)
        #expect(m.termEnded(.leaseRevoked) == nil)
        #expect(m.waiting() == nil)
        #expect(m.acquired(true) == .runTerm)
    }

    @Test func lostChecksWhileStandingByUntilTheLeaseComesBack() {
        var m = LeaseStateMachine()
        _ = m.acquired(true)
        // Lost beats revoked: the group took the lease without a revocation.
        #expect(m.polled(lost: true, revoked: true) == .endTermLost)
        let store = Store()
        #expect(m.termEnded(.leaseLost(store: store, epoch: 7)) == nil)
        let check = m.waiting()
        #expect(check?.epoch == 7)
        #expect(check?.store === store)
        #expect(m.acquired(true) == .runTerm)
        #expect(m.waiting() == nil)
        // A revoked term after that forgets the check.
        #expect(m.termEnded(.leaseRevoked) == nil)
        #expect(m.waiting() == nil)
    }
}
