/// What a bounded partitioned run (`weir run --partitioned --stop-at-end`) still waits for, and
/// when to say it. The run ends by ``PartitionedRunner/boundedRunEnds(tasksEnded:globalStageEnded:leaseGroupJoined:)``;
/// while it has not, and the instance has processed nothing new for ``quietPeriod``, the runner
/// logs ``Pending/description(source:globalTopic:leaseGroup:)`` (then again every period while
/// the wait lasts), so an operator, or a failing test, sees which partition, stage or group the
/// run waits for instead of progress lines only.
///
/// Invariant: ``observe(processed:now:)`` says "log" at most once per ``quietPeriod`` and only
/// after a whole period without a change of the processed count. Pure: tested without a broker;
/// O(1) per loop iteration.
struct BoundedRunWait {
    /// How long an instance processes nothing new before it says what it waits for.
    static let quietPeriod: Duration = .seconds(10)

    /// A source partition whose task has not ended: the next offset it processes and the
    /// partition's end as last reported (nil: none yet).
    struct TaskPosition: Equatable {
        var partition: Int32
        var next: Int64?
        var end: Int64?
    }

    /// What the end rule waits for.
    struct Pending {
        /// The source group has assigned this instance partitions (possibly none) at least once.
        var assigned: Bool
        /// Assigned source partitions whose tasks have not ended.
        var tasks: [TaskPosition]
        /// The global stage, when this instance runs it: its input partitions (of
        /// `<name>.global`) not ended, and whether its label topic is not read to its end.
        var global: (partitions: [Int32], labels: Bool)?
        /// The lease group has assigned this instance (anything, even nothing).
        var leaseGroupJoined: Bool

        /// In words, each reason separated by "; ".
        func description(source: String, globalTopic: String, leaseGroup: String) -> String {
            var reasons: [String] = []
            if !assigned { reasons.append("the source group to assign this instance its partitions of \(source)") }
            if !tasks.isEmpty {
                let positions = tasks.map { t in
                    "\(source)/\(t.partition) at offset \(t.next.map(String.init) ?? "none yet"), "
                        + (t.end.map { "end \($0)" } ?? "no end reported yet")
                }
                reasons.append("its tasks to read to their partition's end: " + positions.joined(separator: "; "))
            }
            if let g = global {
                if !g.partitions.isEmpty {
                    reasons.append("the global stage to read the tasks' ends from \(globalTopic) partition"
                                   + (g.partitions.count == 1 ? " " : "s ") + g.partitions.map(String.init).joined(separator: ", "))
                }
                if g.labels { reasons.append("the global stage to read and apply its label topic to its end") }
            } else if !leaseGroupJoined {
                reasons.append("the lease group \(leaseGroup) to assign this instance (it says whether another instance runs the global stage)")
            }
            return reasons.isEmpty ? "nothing (it ends at its next iteration)" : reasons.joined(separator: "; ")
        }
    }

    private var count = -1
    private var changed: ContinuousClock.Instant?
    private var said: ContinuousClock.Instant?

    /// Observes a count that grows while the instance works (the runner: the tasks' records and
    /// dead letters, plus the global stage's steps that did work) at `now`; true
    /// when the run has processed nothing new for ``quietPeriod`` and has not said so within the
    /// last period.
    mutating func observe(processed: Int, now: ContinuousClock.Instant) -> Bool {
        if processed != count || changed == nil {
            count = processed
            changed = now
            said = nil
            return false
        }
        guard now - changed! >= Self.quietPeriod else { return false }
        if let said, now - said < Self.quietPeriod { return false }
        said = now
        return true
    }
}
