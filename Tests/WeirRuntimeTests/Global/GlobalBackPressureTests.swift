import Testing
@testable import WeirRuntime

/// `GlobalBackPressure`: the global stage pauses the partitions of `<name>.global` that hold
/// batches past its limit, resumes them below half of it, and resumes at once a paused partition
/// whose held batches ran out (the merge may wait for its next batch: kept paused, nothing held
/// could be processed and the stage stalled for good).
struct GlobalBackPressureTests {
    @Test func pausesTheHoldingPartitionsPastTheLimitAndResumesBelowHalf() {
        var b = GlobalBackPressure()
        #expect(b.observe(heldBytes: 90, limit: 100, holding: [0, 1, 3]) == ([], []))
        #expect(b.observe(heldBytes: 120, limit: 100, holding: [0, 1, 3]) == ([0, 1, 3], []))
        #expect(b.paused == [0, 1, 3])
        // Still past it, nothing new: no change.
        #expect(b.observe(heldBytes: 110, limit: 100, holding: [0, 1, 3]) == ([], []))
        #expect(b.observe(heldBytes: 60, limit: 100, holding: [0, 1, 3]) == ([], []))
        #expect(b.observe(heldBytes: 40, limit: 100, holding: [0, 3]) == ([], [0, 1, 3]))
        #expect(b.paused.isEmpty)
        #expect(b.observe(heldBytes: 40, limit: 100, holding: [0, 3]) == ([], []))
    }

    /// The stall seen in ServeBench: partitions 0, 1 and 3 paused holding batches while partition
    /// 2's task caught up; then partition 1's held batches are all processed and the merge waits
    /// for partition 1's next batch, still past the limit on 0 and 3.
    @Test func aPausedPartitionThatRanOutIsResumedAtOnce() {
        var b = GlobalBackPressure()
        #expect(b.observe(heldBytes: 300, limit: 256, holding: [0, 1, 3]) == ([0, 1, 3], []))
        #expect(b.observe(heldBytes: 290, limit: 256, holding: [0, 3]) == ([], [1]))
        #expect(b.paused == [0, 3])
        // Partition 1 holds again (its next batches came) while still past the limit: paused again.
        #expect(b.observe(heldBytes: 300, limit: 256, holding: [0, 1, 3]) == ([1], []))
        // Between half and the limit, a partition that ran out also comes back.
        #expect(b.observe(heldBytes: 200, limit: 256, holding: [1, 3]) == ([], [0]))
        #expect(b.paused == [1, 3])
        // A partition holding for the first time past the limit (partition 2) is paused too.
        #expect(b.observe(heldBytes: 300, limit: 256, holding: [1, 2, 3]) == ([2], []))
        #expect(b.paused == [1, 2, 3])
    }
}
