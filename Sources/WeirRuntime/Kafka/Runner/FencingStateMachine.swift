/// What `weir run` does about partitions the group took without a revocation: the fencing
/// machine of ``KafkaRunner`` (see `docs/fault-tolerance.md`, "Fencing (zombies)" and "Runner
/// state machines").
///
/// owning → (partitions lost, or a refused group commit) → checking: the changelog is asked
/// whether another instance checkpointed them since this one's epoch →
/// - it did: fenced (a zombie; the run stops with ``CheckpointError/partitionsLost(_:)``);
/// - it did not: the work not yet checkpointed is dropped and the state resumes from the newest
///   checkpoint (``Action``s in order), then owning again.
///
/// Without checkpoints (`checkpoints: .none`) there is nothing to check or resume: lost
/// partitions are only reported (the group offsets are committed after the outputs anyway).
/// Cost: one comparison per loop iteration while nothing is lost.
struct FencingStateMachine {
    enum State: Equatable {
        case owning
        /// Waiting for the answer of the ownership check of these source partitions.
        case checking(Set<Int32>)
        case fenced
    }

    enum Action: Equatable {
        /// Ask the checkpoint store whether another instance checkpointed `partitions` since this
        /// instance's epoch; answer with ``ownershipConfirmed()`` or ``ownershipRefused()``.
        case checkOwnership(partitions: Set<Int32>)
        /// Abort the open transaction and drop the batch being gathered (never committed).
        case dropUncheckedWork
        /// A fresh pipeline, restored from the newest checkpoint.
        case resetPipelineFromCheckpoint
        /// Source and label partitions go back to that checkpoint's offsets
        /// (``AssignmentStateMachine/resume(from:)``); the next epoch begins.
        case resumePartitions
        /// Stop: another instance took these partitions over.
        case stopFenced(partitions: [Int32])
    }

    private(set) var state: State = .owning

    /// A loop iteration with these partitions lost (source, and whether label partitions are):
    /// the ownership check when any is lost and checkpoints are kept.
    mutating func poll(lostSource: Set<Int32>, labelsLost: Bool, checkpointsKept: Bool) -> Action? {
        guard state == .owning, checkpointsKept, !lostSource.isEmpty || labelsLost else { return nil }
        state = .checking(lostSource)
        return .checkOwnership(partitions: lostSource)
    }

    /// No newer checkpoint of the lost partitions: drop what was not checkpointed and resume.
    mutating func ownershipConfirmed() -> [Action] {
        guard case .checking = state else { return [] }
        state = .owning
        return [.dropUncheckedWork, .resetPipelineFromCheckpoint, .resumePartitions]
    }

    /// Another instance checkpointed them: this one is a zombie.
    mutating func ownershipRefused() -> Action? {
        guard case .checking(let lost) = state else { return nil }
        state = .fenced
        return .stopFenced(partitions: lost.sorted())
    }
}
