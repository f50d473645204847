/// When `weir run` checkpoints: the checkpoint machine of ``KafkaRunner`` (see
/// `docs/fault-tolerance.md`, "Runner state machines").
///
/// Events: input processed (``processed()``), a loop iteration (``tick(now:)``), a hand-over
/// (``handOver()``: partitions revoked or the lease moving), the outcome of a checkpoint
/// (``written()``, ``scheduled(from:)``, ``groupFenced(began:)``), a failure (``failed()``) and
/// the stop (``stop()``). Transitions return ``Action``s; ``CheckpointCoordinator`` does the I/O.
///
/// States: `idle` (nothing to write) → `dirty` (input or outputs since the last checkpoint) →
/// back to idle once written; `failed` once processing or a checkpoint failed (the run stops at
/// the next poll; no hand-over checkpoint is attempted after that). The interval runs from
/// checkpoint start to checkpoint start (not from the end of the previous one).
/// Cost: ``processed()`` sets a flag (per batch); ``tick(now:)`` compares two instants.
struct CheckpointStateMachine {
    enum State: Equatable { case idle, dirty, failed }

    enum Action: Equatable {
        /// Process what was read, then checkpoint it (`revoking`: inside a rebalance, a refused
        /// group commit is not fencing).
        case checkpoint(revoking: Bool)
        /// Every partition held or covered counts as lost (``FencingStateMachine``).
        case treatPartitionsAsLost
    }

    /// 0: never on a schedule (only on hand-over and stop).
    let interval: Duration
    private(set) var state: State = .idle
    /// Start of the last scheduled checkpoint (or of the term).
    private(set) var lastStart: ContinuousClock.Instant

    init(interval: Duration, start: ContinuousClock.Instant) {
        self.interval = interval
        lastStart = start
    }

    /// Input was processed (events, labels, a partition ended): the state changed.
    @inline(__always)
    mutating func processed() {
        if state == .idle { state = .dirty }
    }

    /// A loop iteration: a scheduled checkpoint when the interval has passed since the last one began.
    func tick(now: ContinuousClock.Instant) -> Action? {
        guard state != .failed, interval > .zero, now - lastStart >= interval else { return nil }
        return .checkpoint(revoking: false)
    }

    /// Whether a checkpoint has anything to write: changed state, or outputs written since the
    /// last one (`outputsPending`, e.g. windows fired by a tick).
    func needsWrite(outputsPending: Bool) -> Bool { state == .dirty || outputsPending }

    /// A checkpoint was written: clean until the next input.
    mutating func written() {
        if state == .dirty { state = .idle }
    }

    /// The schedule runs from `began`: the term started processing then, or a scheduled
    /// checkpoint that began then finished (written or nothing to write).
    mutating func scheduled(from began: ContinuousClock.Instant) { lastStart = began }

    /// A scheduled checkpoint's group commit was refused: the group dropped this member before
    /// librdkafka reported the partitions lost. Nothing was written; treat them as lost.
    mutating func groupFenced(began: ContinuousClock.Instant) -> Action {
        lastStart = began
        return .treatPartitionsAsLost
    }

    /// Partitions are revoked or the lease moves: checkpoint first, unless the run has already
    /// failed (then nothing more is committed and the run stops at the next poll).
    func handOver() -> Action? {
        state == .failed ? nil : .checkpoint(revoking: true)
    }

    /// Processing or a checkpoint failed; the runner rethrows the error at the next poll.
    mutating func failed() { state = .failed }

    /// State went back to a checkpoint (lost partitions resumed): nothing new to write.
    mutating func resumed() {
        if state == .dirty { state = .idle }
    }

    /// Graceful stop: the final checkpoint (or commit of the open transaction).
    func stop() -> Action { .checkpoint(revoking: false) }
}
