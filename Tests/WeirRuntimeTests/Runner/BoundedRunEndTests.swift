import Testing
@testable import WeirRuntime

/// `PartitionedRunner.boundedRunEnds`: when `weir run --partitioned --stop-at-end` stops. An
/// instance without the global stage waits for its lease group's assignment before ending (the
/// old rule, tasks ended and no global stage here, ended a lone instance whose lease group formed
/// after its tasks ended with the global stage never run); one holding it waits for the stage.
struct BoundedRunEndTests {
    @Test func endsOnlyWhenTheTasksAndTheGlobalStageWhereverItRunsAreDone() {
        // Tasks still reading: never.
        for joined in [false, true] {
            for global in [nil, false, true] as [Bool?] {
                #expect(!PartitionedRunner.boundedRunEnds(tasksEnded: false, globalStageEnded: global, leaseGroupJoined: joined))
            }
        }
        // Tasks ended, the lease group not yet formed: wait (the lease may come here).
        #expect(!PartitionedRunner.boundedRunEnds(tasksEnded: true, globalStageEnded: nil, leaseGroupJoined: false))
        // Tasks ended, the group formed and another instance holds the stage: end.
        #expect(PartitionedRunner.boundedRunEnds(tasksEnded: true, globalStageEnded: nil, leaseGroupJoined: true))
        // This instance holds the stage: end once it processed everything.
        #expect(!PartitionedRunner.boundedRunEnds(tasksEnded: true, globalStageEnded: false, leaseGroupJoined: true))
        #expect(PartitionedRunner.boundedRunEnds(tasksEnded: true, globalStageEnded: true, leaseGroupJoined: true))
    }
}
