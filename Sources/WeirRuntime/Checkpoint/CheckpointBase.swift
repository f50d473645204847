import WeirCore

/// What the next checkpoint increment builds on: the pipeline's change mark and its drift
/// references as the last checkpoint written or restored left them. Kept by each
/// ``CheckpointCoordinator``.
struct CheckpointBase {
    private var graph: StreamGraph.ChangeMark?
    /// The drift references the base holds: an increment leaves out those unchanged since.
    private(set) var references: Pipeline.ReferenceMark?

    /// `pipeline` was just checkpointed or restored: starts its next checkpoint epoch and
    /// remembers it as the base. O(window operators + monitors).
    mutating func mark(_ pipeline: Pipeline) {
        pipeline.markCheckpointed()
        graph = pipeline.changeMark
        references = pipeline.referenceMark
    }

    /// Whether `pipeline` is still the state this base was marked on (the same pipeline, not
    /// restored since): only then may the next checkpoint be an increment.
    func holds(_ pipeline: Pipeline) -> Bool { graph != nil && pipeline.changeMark == graph }
}
