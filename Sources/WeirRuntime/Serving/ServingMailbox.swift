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
/// Routing: with one active instance every key is served here. In partitioned mode
/// (`weir run --partitioned`) the runner installs a ``ServingRouter``: the HTTP layer asks
/// ``route(key:)`` / ``route(event:)`` first and answers 307 to the owner or 503 (`restoring`,
/// `moving`) without queueing; a request queued for a partition that leaves before it is served
/// is answered 503 `moving` by the runner.
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
        /// `partition`: the task that serves it (partitioned mode; nil with one instance).
        case features(key: String, partition: Int32? = nil)
        case score(event: [UInt8], partition: Int32? = nil)
    }

    public let capacity: Int
    private let lock = NSLock()
    private var wakeRunLoop: (@Sendable () -> Void)?
    private var queue: [(Request, CheckedContinuation<ServingReply, Never>)] = []
    private var currentRole: Role = .standby
    private var router: ServingRouter?
    private var eventKeys: EventKeyReader?
    /// The base URL other instances redirect to for keys this one serves (partitioned mode).
    private var advertised: String?
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

    /// The base URL (`http(s)://host:port/`) this instance's serving API is reached at by the
    /// other instances' redirects (`--serving-url`, else the host name and the endpoint's port).
    public var advertisedURL: String? {
        get { lock.withLock { advertised } }
        set { lock.withLock { advertised = newValue } }
    }

    /// Installs (or removes, nil) partitioned routing; `keys` reads a posted event's key.
    public func install(router: ServingRouter?, keys: EventKeyReader?) {
        lock.withLock {
            self.router = router
            eventKeys = keys
        }
    }

    /// Changes the router (the runner, on task and membership changes).
    public func updateRouter(_ body: (inout ServingRouter) -> Void) {
        lock.withLock {
            guard router != nil else { return }
            body(&router!)
        }
    }

    /// The router as it is now (tests, the runner's instance records).
    public var currentRouter: ServingRouter? { lock.withLock { router } }

    /// Where `key` is served: ``ServingRouter/Route/local(partition:)`` with partition -1 when
    /// one instance serves every key.
    public func route(key: String) -> ServingRouter.Route {
        lock.withLock { router?.route(key: key.utf8) ?? .local(partition: -1) }
    }

    /// Where a posted event is served (``ServingRouter/Route/refused(_:)``: the 400 it gets when
    /// its key cannot be read).
    public func route(event: [UInt8]) -> ServingRouter.Route {
        lock.withLock {
            guard let r = router else { return .local(partition: -1) }
            guard eventKeys != nil else { return .refused(.error(400, "missing_key", reason: "the topology has no source.key to route by")) }
            switch eventKeys!.key(of: event) {
            case .success(let key): return r.route(key: key)
            case .failure(let refusal): return .refused(refusal.reply)
            }
        }
    }

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
        serve(tasks: { _ in pipeline }, now: now())
    }

    /// Answers every queued request from the pipeline of its partition (`task(nil)` with one
    /// instance; `task(p)` nil: the partition left since the request was routed, 503 `moving`).
    /// Same contract as ``serve(_:now:)``.
    @discardableResult
    public func serve(tasks task: (Int32?) -> Pipeline?, now: @autoclosure () -> Int64) -> Int {
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
            case .features(let key, let p):
                c.resume(returning: task(p).map { $0.featuresReply(key: key) } ?? Self.unavailable("moving"))
            case .score(let event, let p):
                c.resume(returning: task(p).map { $0.scoreReply(event: event, now: now) } ?? Self.unavailable("moving"))
            }
        }
        return taken.count
    }

    /// 503 with `reason` as its error code and what it means.
    public static func unavailable(_ reason: String) -> ServingReply {
        let why: String = switch reason {
        case "busy": "too many serving requests waiting; retry"
        case "moving": "the key's partition is moving between instances; retry"
        case "restoring": "the key's partition is being restored on its instance; retry"
        case "routing_unknown": "the source's partitioner is not known yet (no keyed record read); retry"
        default: "this instance is \(reason), not serving state"
        }
        return .error(503, reason, reason: why)
    }
}
