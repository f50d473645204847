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

    /// How long answered requests waited in the mailbox, from ``submit(_:)`` queueing them to the
    /// run loop taking them (the part of a request's latency the run loop causes: the batch it
    /// was processing, or a blocking step of the loop). Waits in power-of-two microsecond buckets.
    public struct WaitStats: Sendable, Equatable {
        /// `buckets[i]`: waits below 2^i µs (and at least 2^(i-1) µs for i > 0); the last one
        /// also holds everything longer.
        public var buckets = [Int](repeating: 0, count: 24)
        public var count = 0
        public var totalNanoseconds: UInt64 = 0
        public var maxNanoseconds: UInt64 = 0

        public init() {}

        mutating func record(nanoseconds ns: UInt64) {
            let us = ns / 1_000
            let i = us == 0 ? 0 : min(buckets.count - 1, UInt64.bitWidth - us.leadingZeroBitCount)
            buckets[i] += 1
            count += 1
            totalNanoseconds &+= ns
            maxNanoseconds = max(maxNanoseconds, ns)
        }

        /// An upper bound (µs, a power of two; the maximum + 1 when that is smaller, or in the
        /// open-ended last bucket) of the `q`-quantile (0...1) of the waits; 0 when none was recorded.
        public func quantileBoundMicroseconds(_ q: Double) -> UInt64 {
            guard count > 0 else { return 0 }
            let rank = max(1, Int((Double(count) * q).rounded(.up)))
            var seen = 0
            for (i, n) in buckets.enumerated() {
                seen += n
                // The last bucket is open-ended: its bound is the maximum.
                if seen >= rank { return i == buckets.count - 1 ? maxNanoseconds / 1_000 + 1 : min(UInt64(1) << UInt64(i), maxNanoseconds / 1_000 + 1) }
            }
            return maxNanoseconds / 1_000 + 1
        }

        /// `n requests waited for the run loop: p50 ≤ … µs, p99 ≤ … µs, p99.9 ≤ … µs, max … µs`.
        public var summary: String {
            "\(count) requests waited for the run loop: p50 ≤ \(quantileBoundMicroseconds(0.5)) µs, p99 ≤ \(quantileBoundMicroseconds(0.99)) µs, "
                + "p99.9 ≤ \(quantileBoundMicroseconds(0.999)) µs, max \(maxNanoseconds / 1_000) µs"
        }
    }

    public let capacity: Int
    /// Events the run loop processes between two ``serve(_:now:)`` calls while requests keep
    /// arriving (``batchLimit(otherwise:now:)``).
    public let busyBatchEvents: Int
    /// How long after the last request the run loop keeps its batches at ``busyBatchEvents``.
    public static let busyWindowNanoseconds: UInt64 = 1_000_000_000
    private let lock = NSLock()
    /// When the last request was queued (``DispatchTime`` ns; 0: never).
    private var lastQueued: UInt64 = 0
    private var wakeRunLoop: (@Sendable () -> Void)?
    /// Queued requests with the instant (``DispatchTime`` ns) each was queued.
    private var queue: [(Request, CheckedContinuation<ServingReply, Never>, UInt64)] = []
    private var waits = WaitStats()
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
    /// How long the answered requests waited for the run loop (see ``WaitStats``).
    public var waitStats: WaitStats { lock.withLock { waits } }

    /// - Parameters:
    ///   - capacity: requests that may wait at once (beyond: 503 `busy`).
    ///   - busyBatchEvents: the batch bound while serving is busy (default 128: ~0.3 ms of the
    ///     card-fraud topology on one core, against ~2.5 ms for a 1,024-event batch).
    public init(capacity: Int = 256, busyBatchEvents: Int = 128) {
        self.capacity = max(1, capacity)
        self.busyBatchEvents = max(1, busyBatchEvents)
    }

    /// When the last request was queued (``DispatchTime`` ns; 0: never), for tests.
    var lastQueuedNanoseconds: UInt64 { lock.withLock { lastQueued } }

    /// The most events the run loop should process before its next ``serve(_:now:)`` call:
    /// ``busyBatchEvents`` while requests have been queued within the last second (under steady
    /// load a request then waits for the rest of a small batch, not of a 1,024-event one), else
    /// `limit`. Smaller batches cost the pipeline nothing measurable (RESULTS.md, 2026-12-06
    /// ServeBench). One lock and a comparison: call once per batch, not per event.
    public func batchLimit(otherwise limit: Int, now: UInt64 = DispatchTime.now().uptimeNanoseconds) -> Int {
        let last = lock.withLock { lastQueued }
        return last != 0 && now &- last < Self.busyWindowNanoseconds ? min(limit, busyBatchEvents) : limit
    }

    /// The instance's serving role. Leaving `active` answers the queued requests 503.
    public var role: Role {
        get { lock.withLock { currentRole } }
        set {
            let dropped: [(Request, CheckedContinuation<ServingReply, Never>, UInt64)] = lock.withLock {
                currentRole = newValue
                guard newValue != .active else { return [] }
                defer { queue.removeAll() }
                refusedCount += queue.count
                return queue
            }
            for (_, c, _) in dropped { c.resume(returning: Self.unavailable(newValue.rawValue)) }
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
                lastQueued = DispatchTime.now().uptimeNanoseconds
                queue.append((request, c, lastQueued))
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
        let taken: [(Request, CheckedContinuation<ServingReply, Never>, UInt64)] = lock.withLock {
            guard !queue.isEmpty else { return [] }
            defer { queue.removeAll(keepingCapacity: true) }
            answeredCount += queue.count
            let t = DispatchTime.now().uptimeNanoseconds
            for (_, _, queued) in queue { waits.record(nanoseconds: t >= queued ? t - queued : 0) }
            return queue
        }
        guard !taken.isEmpty else { return 0 }
        let now = now()
        for (request, c, _) in taken {
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
