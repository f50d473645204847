/// The terms of `weir run` as the active instance of its topology (``InstanceLease``): the
/// lease machine of ``KafkaRunner`` (see `docs/fault-tolerance.md`, "Rebalances and multiple
/// instances" and "Runner state machines").
///
/// standby → (lease acquired) active → the term ends:
/// - stopped (signal, `--stop-at-end`, deadline; final checkpoint written) → stopped;
/// - revoked (handed over in a rebalance, after a checkpoint) → standby;
/// - lost (session timed out; nothing since the term's last epoch committed) → check ownership
///   at once (fenced: stop), then standby, checking while waiting whether another instance
///   checkpointed since (a zombie: stop, fenced) until the lease comes back.
/// Standby gives up when told to stop before the lease comes (→ stopped).
///
/// The store in ``State/standby(replacedCheck:)`` is the changelog as the lost term knew it.
struct LeaseStateMachine {
    /// After a lost term: the changelog as that term knew it, and its newest epoch.
    struct ReplacedCheck {
        var store: any CheckpointStore
        var epoch: UInt64
    }

    enum State {
        case standby(replacedCheck: ReplacedCheck?)
        case active
        case stopped
    }

    enum Action: Equatable {
        /// Run a term as the active instance.
        case runTerm
        /// Lost during the term: drop what was not checkpointed, check ownership (fenced:
        /// stop), end the term.
        case endTermLost
        /// Handed over during the term (the hand-over checkpoint is written): end the term.
        case endTermRevoked
        /// Stop: return the pipeline (a fresh one when no term ran).
        case stop
    }

    private(set) var state: State = .standby(replacedCheck: nil)

    /// Standby, about once a second while waiting for the lease: the check to make (whether
    /// another instance checkpointed since the lost term's epoch; if so, stop fenced), if any.
    func waiting() -> ReplacedCheck? {
        guard case .standby(let check?) = state else { return nil }
        return check
    }

    /// The wait for the lease ended: acquired, or told to stop first.
    mutating func acquired(_ acquired: Bool) -> Action {
        guard case .standby = state else { return .stop }
        state = acquired ? .active : .stopped
        return acquired ? .runTerm : .stop
    }

    /// A loop iteration of the active term, after polling the lease group.
    func polled(lost: Bool, revoked: Bool) -> Action? {
        guard case .active = state else { return nil }
        if lost { return .endTermLost }
        if revoked { return .endTermRevoked }
        return nil
    }

    /// The term ended as `end` says.
    mutating func termEnded(_ end: KafkaRunner.TermEnd) -> Action? {
        guard case .active = state else { return .stop }
        switch end {
        case .stopped:
            state = .stopped
            return .stop
        case .leaseRevoked:
            state = .standby(replacedCheck: nil)
        case .leaseLost(let store, let epoch):
            state = .standby(replacedCheck: ReplacedCheck(store: store, epoch: epoch))
        }
        return nil
    }
}
