import Synchronization

/// Names one state of a monitor's reference: a number drawn from a process-wide counter each time
/// a reference is built, replaced, rescored or restored. Two equal revisions are the same
/// reference, whichever copy of a monitor holds them, so a checkpoint increment can leave out a
/// reference whose revision has not changed since the checkpoint it builds on.
/// - Complexity: ``next()`` is one atomic increment.
public enum ReferenceRevision {
    private static let counter = Atomic<UInt64>(0)

    /// A revision never returned before in this process.
    public static func next() -> UInt64 {
        counter.wrappingAdd(1, ordering: .relaxed).newValue
    }
}
