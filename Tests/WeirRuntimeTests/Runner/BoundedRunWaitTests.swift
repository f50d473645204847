import Testing
@testable import WeirRuntime

/// ``BoundedRunWait``: when a bounded partitioned run that has gone quiet says what it waits for,
/// and the words it uses for each reason of the end rule.
struct BoundedRunWaitTests {
    @Test func saysSoOnlyAfterAQuietPeriodAndThenOncePerPeriod() {
        var w = BoundedRunWait()
        func says(_ processed: Int, _ now: ContinuousClock.Instant) -> Bool { w.observe(processed: processed, now: now) }
        let t0 = ContinuousClock().now
        let period = BoundedRunWait.quietPeriod
        #expect(!says(0, t0))  // the first observation starts the period
        #expect(!says(0, t0 + period - .milliseconds(1)))
        #expect(says(0, t0 + period))
        // Said: not again within the next period.
        #expect(!says(0, t0 + period + .seconds(1)))
        #expect(!says(0, t0 + period * 2 - .milliseconds(1)))
        #expect(says(0, t0 + period * 2))
        // Progress restarts the period: a whole quiet period again before it is said.
        #expect(!says(5, t0 + period * 2 + .seconds(1)))
        #expect(!says(5, t0 + period * 3))
        #expect(says(5, t0 + period * 3 + .seconds(1)))
        // Progress between two sayings: nothing until a full quiet period after it.
        #expect(!says(6, t0 + period * 3 + .seconds(2)))
        #expect(!says(6, t0 + period * 4 + .seconds(1)))
        #expect(says(6, t0 + period * 4 + .seconds(2)))
    }

    @Test func namesEachThingTheEndRuleWaitsFor() {
        func words(_ p: BoundedRunWait.Pending) -> String {
            p.description(source: "tx", globalTopic: "cf.global", leaseGroup: "g.global-lease")
        }
        // Not assigned yet, lease group not joined (no global stage here).
        #expect(words(.init(assigned: false, tasks: [], global: nil, leaseGroupJoined: false))
                == "the source group to assign this instance its partitions of tx; "
                + "the lease group g.global-lease to assign this instance (it says whether another instance runs the global stage)")
        // Tasks not at their end, one with no end reported and nothing processed.
        #expect(words(.init(assigned: true, tasks: [.init(partition: 1, next: 4980, end: 5012), .init(partition: 3, next: nil, end: nil)],
                            global: nil, leaseGroupJoined: true))
                == "its tasks to read to their partition's end: tx/1 at offset 4980, end 5012; tx/3 at offset none yet, no end reported yet")
        // The global stage here: its input partitions and labels; the lease group is then not a reason.
        #expect(words(.init(assigned: true, tasks: [], global: (partitions: [0, 2], labels: true), leaseGroupJoined: false))
                == "the global stage to read the tasks' ends from cf.global partitions 0, 2; "
                + "the global stage to read and apply its label topic to its end")
        #expect(words(.init(assigned: true, tasks: [], global: (partitions: [3], labels: false), leaseGroupJoined: true))
                == "the global stage to read the tasks' ends from cf.global partition 3")
        // Nothing pending: the rule ends the run at the next iteration.
        #expect(words(.init(assigned: true, tasks: [], global: nil, leaseGroupJoined: true)) == "nothing (it ends at its next iteration)")
    }
}
