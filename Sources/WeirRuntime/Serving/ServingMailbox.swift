import Foundation

/// The queue between the HTTP serving handlers and the thread that owns the pipeline: handlers
/// ``submit(_:)`` requests and wait; the run loop calls ``serve(_:now:)`` after every batch (one
/// poll may deliver many) and once per iteration, and answers every queued request from the
/// pipeline as it is then (never half-way through a batch; the pipeline stays single-writer and
/// is never read from another thread).
///
/// Invariants: at most `capacity` requests wait (beyond: 503 `busy`); only the active instance
/// answers (``role``: `standby` and `restoring` give 503 with that reason, and requests queued
/// when the role changes are answered 503 too). Cost to the run loop when nothing waits: one
/// uncontended lock and an emptiness check per call (~20 ns, per batch of up to 1,024 events).
///
/// Routing is a seam: ``owner`` answers which instance serves a key. With one active instance
/// per topology and group it is always this one; partitioned processing (issue 16) will look the
/// key's partition up in the group assignment and the HTTP layer will answer 307 to the owner.
public final class ServingMailbox: @unchecked Sendable {
    /// What this instance is doing for serving.
    public enum Role: String, Sendable {
        /// Processing: answers from its live state.
        case active
        /// Waiting for the lease (another instance is active): 503 `standby`.
        case standby
        /// Restoring its state from the newest checkpoint: 503 `restoring`.
        case restoring
    }

    /// One request.
    public enum Request: Sendable {
        case features(key: String)
        case score(event: [UInt8])
    }

    /// Where a key is served (see ``owner(of:)``).
    public enum Owner: Sendable, Equatable {
        case this
        /// Another instance's serving base URL (not produced until issue 16).
        case elsewhere(String)
    }

    public let capacity: Int
    private let lock = NSLock()
    private var wakeRunLoop: (@Sendable () -> Void)?
    private var queue: [(Request, CheckedContinuation<ServingReply, Never>)] = []
    private var currentRole: Role = .standby
    /// Requests answered and refused (busy, not active), for tests and metrics.
    private var answeredCount = 0
    private var refusedCount = 0
    public var answered: Int { lock.withLock { answeredCount } }
    public var refused: Int { lock.withLock { refusedCount } }

    public init(capacity: Int = 256) { self.capacity = max(1, capacity) }

    /// The instance's serving role. Leaving `active` answers the queued requests 503.
    public var role: Role {
        get { lock.withLock { currentRole } }
        set {
            let dropped: [(Request, CheckedContinuation<ServingReply, Never>)] = lock.withLock {
                currentRole = newValue
                guard newValue != .active else { return [] }
                defer { queue.removeAll() }
                refusedCount += queue.count
                return queue
            }
            for (_, c) in dropped { c.resume(returning: Self.unavailable(newValue.rawValue)) }
        }
    }

    /// Called after a request is queued, to end the run loop's wait for input (the runner sets it
    /// to wake its consumer's poll; nil: the request waits for the loop's next iteration).
    public var wake: (@Sendable () -> Void)? {
        get { lock.withLock { wakeRunLoop } }
        set { lock.withLock { wakeRunLoop = newValue } }
    }

    /// Requests waiting for the run loop.
    public var queued: Int { lock.withLock { queue.count } }

    /// The instance serving `key`: this one (one active instance holds every key until issue 16).
    public func owner(of key: String) -> Owner { .this }

    /// Queues `request` for the run loop and waits for its answer; 503 at once when this instance
    /// is not active or `capacity` requests already wait.
    public func submit(_ request: Request) async -> ServingReply {
        await withCheckedContinuation { (c: CheckedContinuation<ServingReply, Never>) in
            let (refusal, wake): (ServingReply?, (@Sendable () -> Void)?) = lock.withLock {
                if currentRole != .active { refusedCount += 1; return (Self.unavailable(currentRole.rawValue), nil) }
                if queue.count >= capacity { refusedCount += 1; return (Self.unavailable("busy"), nil) }
                queue.append((request, c))
                return (nil, wakeRunLoop)
            }
            if let refusal { c.resume(returning: refusal) }
            wake?()
        }
    }

    /// Answers every queued request from `pipeline` (call between batches, on the thread that
    /// owns it; `now` is read only when something waits). Returns how many were answered. O(1)
    /// when nothing waits.
    @discardableResult
    public func serve(_ pipeline: Pipeline, now: @autoclosure () -> Int64) -> Int {
        let taken: [(Request, CheckedContinuation<ServingReply, Never>)] = lock.withLock {
            guard !queue.isEmpty else { return [] }
            defer { queue.removeAll(keepingCapacity: true) }
            answeredCount += queue.count
            return queue
        }
        guard !taken.isEmpty else { return 0 }
        let now = now()
        for (request, c) in taken {
            switch request {
            case .features(let key): c.resume(returning: pipeline.featuresReply(key: key))
            case .score(let event): c.resume(returning: pipeline.scoreReply(event: event, now: now))
            }
        }
        return taken.count
    }

    static func unavailable(_ reason: String) -> ServingReply {
        .error(503, reason, reason: reason == "busy" ? "too many serving requests waiting; retry"
               : "this instance is \(reason), not serving state")
    }
}
