import CRdKafka
import Logging

/// A Kafka consumer over librdkafka, built for throughput and for stateful processing.
///
/// - **Batch poll, no per-message objects**: ``poll(timeout:_:)`` hands every available message
///   to a closure as a borrowed ``KafkaMessage`` (librdkafka's callback path, ~3x its batch API).
///   Each assigned partition's fetch queue is forwarded to one private queue drained that way;
///   group events (rebalances, errors) are served separately, so the fast path never sees them.
/// - **Rebalance before the fact**: ``onRebalance`` runs before an assignment changes, so a
///   caller can flush state and commit revoked partitions first.
/// - **Offsets are the caller's**: auto-commit is off; ``store(_:)``, ``commit(_:)`` and
///   ``commitStored()`` commit what the caller says is done.
/// - **Lost data is never silent**: when retention deleted records at the position, a
///   ``ConsumerEvent/dataLoss(_:)`` names topic, partition, expected and first available offset,
///   the skipped count is added to ``counters``, then the reset policy applies.
///
/// Thread-safety: drive a consumer from one thread at a time; all handlers run on it.
public final class KafkaConsumer: @unchecked Sendable {
    let rk: OpaquePointer
    private let fetchQueue: OpaquePointer
    let configuration: ConsumerConfiguration
    private let context: ConsumerContext
    private var partitionQueues: [TopicPartition: OpaquePointer] = [:]
    private var closed = false
    /// ``subscribe(_:)`` was called (the consumer is in a group).
    private var subscribed = false
    /// False when destroying the client could crash librdkafka 2.0.2 (see ``close(leaveTimeout:)``):
    /// `deinit` then keeps it.
    private var destroyable = true
    let logger: Logger
    /// Restarts fetching when the queue drains (librdkafka 2.0 otherwise waits up to 1 s).
    let waker: FetchWaker
    /// A second client, without a group, that serves ``watermarks(_:timeout:)`` (nil until the first
    /// query; destroyed by ``close()``). See there for why not `rk`.
    private var queryClient: OpaquePointer?

    /// Called before partitions are assigned or revoked. See ``RebalanceEvent``.
    public var onRebalance: ((RebalanceEvent) -> Void)? {
        get { context.onRebalance }
        set { context.onRebalance = newValue }
    }

    /// Called for end-of-partition, data loss, offset resets and non-fatal errors.
    public var onEvent: ((ConsumerEvent) -> Void)? {
        get { context.onEvent }
        set { context.onEvent = newValue }
    }

    public var counters: ConsumerCounters { context.counters }

    /// How many times the fetchers were woken after the queue drained (see ``FetchWaker``).
    public var fetchWakeUps: Int { waker.wakeUps }

    public init(configuration: ConsumerConfiguration, logger: Logger = Logger(label: "weir.kafka.consumer")) throws(KafkaError) {
        self.configuration = configuration
        self.logger = logger
        let context = ConsumerContext()
        self.context = context
        let conf = try RDConfig.make(configuration.librdkafkaProperties)
        rd_kafka_conf_set_rebalance_cb(conf, rebalanceCallback)
        // Safe: `context` is retained by this consumer and outlives `rk` (destroyed first in deinit).
        rd_kafka_conf_set_opaque(conf, Unmanaged.passUnretained(context).toOpaque())
        self.rk = try RDConfig.newClient(RD_KAFKA_CONSUMER, conf: conf)
        rd_kafka_poll_set_consumer(rk)
        self.fetchQueue = rd_kafka_queue_new(rk)
        func setting(_ name: String) -> Int? { configuration.librdkafkaProperties.last { $0.0 == name }.flatMap { Int($0.1) } }
        self.waker = FetchWaker(rk: rk, threshold: setting("queued.min.messages") ?? 100_000,
                                byteLimit: (setting("queued.max.messages.kbytes") ?? 65_536) * 1024)
        context.fetchQueue = fetchQueue
        context.waker = waker
        context.consumer = self
    }

    deinit {
        if !closed { close() }
        guard destroyable else {
            // The client stays (with the context its callbacks reach); nothing polls it any more.
            _ = Unmanaged.passRetained(context)
            if let queryClient { rd_kafka_destroy(queryClient) }
            return
        }
        if let queryClient { rd_kafka_destroy(queryClient) }
        waker.stop()
        context.waker = nil
        context.fetchQueue = nil
        for q in partitionQueues.values { rd_kafka_queue_destroy(q) }
        rd_kafka_queue_destroy(fetchQueue)
        rd_kafka_destroy(rk)
    }

    // MARK: Subscription and assignment

    /// Joins the consumer group and subscribes to `topics`.
    public func subscribe(_ topics: [String]) throws(KafkaError) {
        let list = RDPartitionList.make(topics.map { TopicPartitionOffset(topic: $0, partition: RD_KAFKA_PARTITION_UA, offset: 0) })
        defer { rd_kafka_topic_partition_list_destroy(list) }
        let err = rd_kafka_subscribe(rk, list)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw .from(err, KafkaErrorContext(operation: "subscribe")) }
        subscribed = true
    }

    /// Assigns partitions directly, without group management. Offsets may be logical
    /// (``TopicPartitionOffset/beginning``, ``TopicPartitionOffset/end``, ``TopicPartitionOffset/stored``).
    public func assign(_ partitions: [TopicPartitionOffset]) throws(KafkaError) {
        learnLeaders(of: Set(partitions.map(\.topic)))
        forward(partitions.map(\.topicPartition))
        let list = RDPartitionList.make(partitions)
        defer { rd_kafka_topic_partition_list_destroy(list) }
        let err = rd_kafka_assign(rk, list)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw .from(err, KafkaErrorContext(operation: "assign")) }
    }

    /// Assigns `partitions` directly, as the group's assignment would be taken: each starts at
    /// the offset given by ``setStartOffsets(_:)`` (consumed), else at the group's committed
    /// offset, then `auto.offset.reset`. No group membership, so no join or initial rebalance
    /// delay; the group id still names where ``commit(_:)`` stores offsets.
    public func assignStarting(_ partitions: [TopicPartition]) throws(KafkaError) {
        try assign(partitions.map { tp in
            TopicPartitionOffset(topic: tp.topic, partition: tp.partition,
                                 offset: context.startOffsets.removeValue(forKey: tp) ?? TopicPartitionOffset.stored)
        })
    }

    /// Fetches the topics' metadata (leaders) before an assignment starts. Without it, a
    /// partition assigned at a logical offset (beginning, end) before the client knows its
    /// leader waits for librdkafka's offset-query retry timer: a fixed 500 ms before the first
    /// message (measured on the benchmark broker). Best effort: on failure the assignment
    /// proceeds and librdkafka retries as usual.
    private func learnLeaders(of topics: some Sequence<String>, on client: OpaquePointer? = nil, timeoutMs: Int32 = 2_000) {
        let client = client ?? rk
        for t in topics {
            guard let rkt = rd_kafka_topic_new(client, t, nil) else { continue }
            var md: UnsafePointer<rd_kafka_metadata>?
            if rd_kafka_metadata(client, 0, rkt, &md, timeoutMs) == RD_KAFKA_RESP_ERR_NO_ERROR, let md { rd_kafka_metadata_destroy(md) }
            rd_kafka_topic_destroy(rkt)
        }
    }

    /// Start offsets to use for partitions when they are next assigned (e.g. from a checkpoint).
    /// Call it from the `.assigned` rebalance handler, or before subscribing.
    public func setStartOffsets(_ offsets: [TopicPartitionOffset]) {
        for o in offsets { context.startOffsets[o.topicPartition] = o.offset }
    }

    /// The partitions currently assigned.
    public func assignment() throws(KafkaError) -> [TopicPartition] {
        var list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?
        let err = rd_kafka_assignment(rk, &list)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw .from(err, KafkaErrorContext(operation: "assignment")) }
        guard let list else { return [] }
        defer { rd_kafka_topic_partition_list_destroy(list) }
        return RDPartitionList.read(list).map(\.topicPartition)
    }

    func forward(_ partitions: [TopicPartition]) {
        for tp in partitions where partitionQueues[tp] == nil {
            guard let q = rd_kafka_queue_get_partition(rk, tp.topic, tp.partition) else { continue }
            rd_kafka_queue_forward(q, fetchQueue)
            partitionQueues[tp] = q
        }
    }

    private func reforward() {
        for q in partitionQueues.values { rd_kafka_queue_forward(q, fetchQueue) }
    }

    func unforward(_ partitions: [TopicPartition]) {
        for tp in partitions {
            if let q = partitionQueues.removeValue(forKey: tp) {
                rd_kafka_queue_forward(q, nil)
                rd_kafka_queue_destroy(q)
            }
        }
    }

    // MARK: Polling

    /// Makes a ``poll(timeout:_:)`` waiting in another thread return now (if none is waiting,
    /// the next one returns at once), for work that cannot wait for the timeout, e.g. a serving
    /// request. Thread-safe; harmless after ``close()``.
    public func wake() { rd_kafka_queue_yield(fetchQueue) }

    /// Delivers every message available now (waiting up to `timeout` for the first) to `body`,
    /// after serving group events (rebalances run their handler here, on this thread).
    ///
    /// - Returns: the number of messages delivered.
    /// - Throws: ``KafkaError/dataLoss(_:)`` when the policy is `.fail`; a fatal client error.
    @discardableResult
    public func poll(timeout: Duration = .milliseconds(100), _ body: (KafkaMessage) -> Void) throws(KafkaError) -> Int {
        guard !closed else { throw .invalidState("poll on a closed consumer") }
        let delivered: Int = withoutActuallyEscaping(body) { escapable in
            context.body = escapable
            defer { context.body = nil }
            let before = context.counters.messages
            // librdkafka clears a partition's forwarding when its fetcher stops (seek after
            // reset, re-assignment). Re-forward first, then drain the group queue, so any
            // message enqueued before the forward is delivered before any enqueued after it.
            reforward()
            serveGroupEvents()
            context.observeQueue()
            rd_kafka_consume_callback_queue(fetchQueue, Int32(timeout.milliseconds), fetchCallback,
                                            Unmanaged.passUnretained(context).toOpaque())
            context.observeQueue()
            return Int(context.counters.messages - before)
        }
        try resolvePendingResets()
        if let fatal = fatalError { throw fatal }
        return delivered
    }

    /// Serves rebalances and client-level errors queued on the group queue (waiting up to
    /// `waitMs` for the first; by default never blocks).
    private func serveGroupEvents(waitMs: Int32 = 0) {
        var wait = waitMs
        while let m = rd_kafka_consumer_poll(rk, wait) {
            wait = 0
            defer { rd_kafka_message_destroy(m) }
            if m.pointee.err != RD_KAFKA_RESP_ERR_NO_ERROR {
                context.handleError(m)
            } else {
                // A message that reached the group queue before its partition was forwarded.
                context.counters.messages &+= 1
                context.body?(context.view(m))
            }
        }
    }

    /// Offset resets. A new group (no committed position) starts at the logical beginning or end,
    /// with no query. A position outside the log asks the watermarks from the query client, as in
    /// ``watermarks(_:timeout:)``: on the consumer's own connection each query waited behind the
    /// fetch the broker holds open for partitions already at their end, one `fetch.wait.max.ms` per
    /// partition reset while the others' records waited (`RunLoopStallTests`).
    private func resolvePendingResets() throws(KafkaError) {
        guard !context.pendingResets.isEmpty else { return }
        let resets = context.pendingResets
        context.pendingResets.removeAll()
        for (tp, expected) in resets {
            if expected < 0 {
                // No committed position (a new group): nothing can have been lost, so start at the
                // log's start or end as logical offsets, which the fetcher resolves, instead of
                // asking each partition's watermarks here: those synchronous queries (one round
                // trip per partition) held the polling thread, and with it serving requests, for
                // ~0.3 s at a new group's first assignment (4 partitions, benchmarks broker).
                let logical = configuration.offsetReset == .latest ? TopicPartitionOffset.end : TopicPartitionOffset.beginning
                context.onEvent?(.offsetReset(tp, from: nil, to: logical))
                try restart(tp, at: logical)
                continue
            }
            var low: Int64 = -1
            var high: Int64 = -1
            let err = rd_kafka_query_watermark_offsets(try queryHandle(), tp.topic, tp.partition, &low, &high, 10_000)
            if err != RD_KAFKA_RESP_ERR_NO_ERROR {
                throw .from(err, KafkaErrorContext(operation: "query watermarks for offset reset", topic: tp.topic,
                                                   partition: tp.partition, offset: expected))
            }
            let policy = configuration.offsetReset
            let target: Int64 = policy == .latest ? high : low
            if expected >= 0 && expected < low {
                let report = DataLossReport(topic: tp.topic, partition: tp.partition, expectedOffset: expected, firstAvailableOffset: low)
                context.counters.dataLossEvents += 1
                context.counters.skippedOffsets += report.skippedOffsets
                logger.error("\(report.description)")
                context.onEvent?(.dataLoss(report))
                if policy == .fail { throw .dataLoss(report) }
            } else {
                // A position past the end.
                context.onEvent?(.offsetReset(tp, from: expected, to: target))
            }
            try restart(tp, at: target)
        }
    }

    /// Restarts a partition whose fetcher librdkafka stopped after an offset-reset error
    /// (`seek` is refused in that state): incrementally for the cooperative protocol and for a
    /// consumer that assigned its partitions itself (``assign(_:)``, protocol NONE); for the eager
    /// protocol, which allows only whole assignments, by re-assigning every partition at its
    /// current position. (Re-assigning every partition of a consumer whose other partitions had
    /// not started either restarted them at no position: each reset restarted the others, which
    /// were read again from the beginning, many times over.)
    private func restart(_ tp: TopicPartition, at offset: Int64) throws(KafkaError) {
        let target = TopicPartitionOffset(topic: tp.topic, partition: tp.partition, offset: offset)
        let ctx = KafkaErrorContext(operation: "restart after offset reset", topic: tp.topic, partition: tp.partition, offset: offset)
        if String(cString: rd_kafka_rebalance_protocol(rk)) != "EAGER" {
            let one = RDPartitionList.make([target])
            defer { rd_kafka_topic_partition_list_destroy(one) }
            if let e = rd_kafka_incremental_unassign(rk, one) { throw KafkaError.consume(e, ctx) }
            if let e = rd_kafka_incremental_assign(rk, one) { throw KafkaError.consume(e, ctx) }
        } else {
            let current = try assignment()
            let list = RDPartitionList.make(current.map { TopicPartitionOffset(topic: $0.topic, partition: $0.partition, offset: TopicPartitionOffset.invalid) })
            defer { rd_kafka_topic_partition_list_destroy(list) }
            _ = rd_kafka_position(rk, list)
            for i in 0..<Int(list.pointee.cnt) where list.pointee.elems[i].partition == tp.partition
                && String(cString: list.pointee.elems[i].topic) == tp.topic {
                list.pointee.elems[i].offset = offset
            }
            let err = rd_kafka_assign(rk, list)
            if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw .from(err, ctx) }
        }
        forward([tp])
    }

    // MARK: Offsets

    /// Stores offsets (the next offset to read) for a later ``commitStored()``.
    public func store(_ offsets: [TopicPartitionOffset]) throws(KafkaError) {
        let list = RDPartitionList.make(offsets)
        defer { rd_kafka_topic_partition_list_destroy(list) }
        let err = rd_kafka_offsets_store(rk, list)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw .from(err, KafkaErrorContext(operation: "offsets_store")) }
    }

    /// Commits `offsets` (the next offset to read per partition) synchronously.
    public func commit(_ offsets: [TopicPartitionOffset]) throws(KafkaError) {
        guard !offsets.isEmpty else { return }
        let list = RDPartitionList.make(offsets)
        defer { rd_kafka_topic_partition_list_destroy(list) }
        let err = rd_kafka_commit(rk, list, 0)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw .from(err, KafkaErrorContext(operation: "commit")) }
    }

    /// Commits `offsets` like ``commit(_:)`` (it returns once the coordinator answered, with the
    /// same errors), calling `whileWaiting` on this thread about every millisecond until then: the
    /// caller's other work (serving requests) goes on during the round trip. Nil: ``commit(_:)``.
    public func commit(_ offsets: [TopicPartitionOffset], whileWaiting: (() -> Void)?) throws(KafkaError) {
        guard let whileWaiting else { return try commit(offsets) }
        guard !offsets.isEmpty else { return }
        let list = RDPartitionList.make(offsets)
        defer { rd_kafka_topic_partition_list_destroy(list) }
        // The answer arrives on a queue of our own (librdkafka's sync commit waits on one too).
        let queue = rd_kafka_queue_new(rk)
        defer { rd_kafka_queue_destroy(queue) }
        var err = rd_kafka_commit_queue(rk, list, queue, nil, nil)
        if err == RD_KAFKA_RESP_ERR_NO_ERROR {
            while true {
                guard let event = rd_kafka_queue_poll(queue, 1) else { whileWaiting(); continue }
                err = rd_kafka_event_error(event)
                rd_kafka_event_destroy(event)
                break
            }
        }
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw .from(err, KafkaErrorContext(operation: "commit")) }
    }

    /// Commits the stored offsets synchronously. Nothing stored is not an error.
    public func commitStored() throws(KafkaError) {
        let err = rd_kafka_commit(rk, nil, 0)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR && err != RD_KAFKA_RESP_ERR__NO_OFFSET {
            throw .from(err, KafkaErrorContext(operation: "commit"))
        }
    }

    /// The group's committed offsets for `partitions` (``TopicPartitionOffset/invalid`` when none).
    public func committed(_ partitions: [TopicPartition], timeout: Duration = .seconds(10)) throws(KafkaError) -> [TopicPartitionOffset] {
        let list = RDPartitionList.make(partitions.map { TopicPartitionOffset(topic: $0.topic, partition: $0.partition, offset: TopicPartitionOffset.invalid) })
        defer { rd_kafka_topic_partition_list_destroy(list) }
        let err = rd_kafka_committed(rk, list, Int32(timeout.milliseconds))
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw .from(err, KafkaErrorContext(operation: "committed")) }
        return RDPartitionList.read(list)
    }

    /// Moves the read position of assigned partitions.
    public func seek(_ offsets: [TopicPartitionOffset], timeout: Duration = .seconds(10)) throws(KafkaError) {
        let list = RDPartitionList.make(offsets)
        defer { rd_kafka_topic_partition_list_destroy(list) }
        if let error = rd_kafka_seek_partitions(rk, list, Int32(timeout.milliseconds)) {
            throw KafkaError.consume(error, KafkaErrorContext(operation: "seek"))
        }
        for r in RDPartitionList.readErrors(list) {
            throw .from(r.1, KafkaErrorContext(operation: "seek", topic: r.0.topic, partition: r.0.partition, offset: r.0.offset))
        }
    }

    /// Stops fetching from `partitions` (backpressure); their position is kept.
    public func pause(_ partitions: [TopicPartition]) throws(KafkaError) {
        let list = RDPartitionList.make(partitions.map { TopicPartitionOffset(topic: $0.topic, partition: $0.partition, offset: 0) })
        defer { rd_kafka_topic_partition_list_destroy(list) }
        let err = rd_kafka_pause_partitions(rk, list)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw .from(err, KafkaErrorContext(operation: "pause")) }
    }

    /// Resumes fetching from paused partitions.
    public func resume(_ partitions: [TopicPartition]) throws(KafkaError) {
        let list = RDPartitionList.make(partitions.map { TopicPartitionOffset(topic: $0.topic, partition: $0.partition, offset: 0) })
        defer { rd_kafka_topic_partition_list_destroy(list) }
        let err = rd_kafka_resume_partitions(rk, list)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw .from(err, KafkaErrorContext(operation: "resume")) }
        waker.request()
    }

    /// The low and high watermarks (first offset, next offset to be written; the last stable
    /// offset with `read_committed`) of a partition, queried from its leader now.
    ///
    /// The query goes through a second client of this consumer (same connection settings and
    /// isolation level, no group; created on the first call): on the consumer's own connection
    /// the request waits behind the fetch the broker holds open while the partitions are at their
    /// end (up to `fetch.wait.max.ms`, 500 ms by default; brokers answer one request per connection
    /// at a time). Measured on the benchmark broker: ~450 ms per query that way, ~1 ms this way,
    /// which made `weir run --order timestamp` (end confirmations) and the lag metrics stall.
    public func watermarks(_ tp: TopicPartition, timeout: Duration = .seconds(10)) throws(KafkaError) -> (low: Int64, high: Int64) {
        var low: Int64 = -1
        var high: Int64 = -1
        let err = rd_kafka_query_watermark_offsets(try queryHandle(), tp.topic, tp.partition, &low, &high, Int32(timeout.milliseconds))
        if err != RD_KAFKA_RESP_ERR_NO_ERROR {
            throw .from(err, KafkaErrorContext(operation: "query_watermark_offsets", topic: tp.topic, partition: tp.partition))
        }
        return (low, high)
    }

    private func queryHandle() throws(KafkaError) -> OpaquePointer {
        if let queryClient { return queryClient }
        let conf = try RDConfig.make([("isolation.level", configuration.isolation.rawValue)] + configuration.client.librdkafkaProperties)
        let client = try RDConfig.newClient(RD_KAFKA_CONSUMER, conf: conf)
        queryClient = client
        return client
    }

    /// Creates the query client of ``watermarks(_:timeout:)`` and learns the leaders of `topics`
    /// now, so the first query does not pay for connecting and a metadata round (a new client's
    /// first query waited for librdkafka's metadata retry timer, hundreds of milliseconds, in the
    /// middle of a run). Best effort.
    public func prepareWatermarkQueries(topics: [String]) {
        guard let client = try? queryHandle() else { return }
        learnLeaders(of: topics, on: client, timeoutMs: 5_000)
    }

    /// The watermarks of a partition as of the last fetch response (librdkafka's cache: no
    /// request, never blocks); nil before the partition's first fetch. For lag metrics.
    public func cachedWatermarks(_ tp: TopicPartition) -> (low: Int64, high: Int64)? {
        var low: Int64 = -1
        var high: Int64 = -1
        let err = rd_kafka_get_watermark_offsets(rk, tp.topic, tp.partition, &low, &high)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR, high >= 0 else { return nil }
        return (low, high)
    }

    /// A partition's lag from ``cachedWatermarks(_:)`` (no request): its high watermark minus
    /// `next`, the next offset to process (nil: the low watermark), at least 0; nil before the
    /// partition's first fetch. With `read_committed` the high watermark is the last stable
    /// offset, so a transaction's commit marker counts as one message until more follows it.
    public func cachedLag(_ tp: TopicPartition, next: Int64?) -> Int64? {
        cachedWatermarks(tp).map { Self.lag(watermarks: $0, next: next) }
    }

    /// ``cachedLag(_:next:)`` of several partitions of `topic`, each with its next offset to
    /// process (nil: the low watermark); partitions not fetched yet are left out. For lag metrics.
    public func cachedLag(topic: String, _ partitions: some Sequence<(partition: Int32, next: Int64?)>) -> [Int32: Int64] {
        var lag: [Int32: Int64] = [:]
        for (p, next) in partitions { lag[p] = cachedLag(TopicPartition(topic: topic, partition: p), next: next) }
        return lag
    }

    /// Messages between a partition's high watermark and `next`, the next offset to process
    /// (nil: the low watermark), at least 0.
    public static func lag(watermarks w: (low: Int64, high: Int64), next: Int64?) -> Int64 {
        max(0, w.high - (next ?? w.low))
    }

    /// A fatal client error, if librdkafka raised one.
    public var fatalError: KafkaError? {
        var buf = [CChar](repeating: 0, count: 512)
        let err = rd_kafka_fatal_error(rk, &buf, buf.count)
        guard err != RD_KAFKA_RESP_ERR_NO_ERROR else { return nil }
        return .broker(code: KafkaErrorCode(rawValue: err.rawValue), message: buf.cText,
                       context: KafkaErrorContext(operation: "consumer"), isFatal: true, isRetriable: false)
    }

    /// Leaves the group (running the final `.revoked` handler) and stops the consumer.
    ///
    /// It first unsubscribes and serves the group's events until nothing is assigned and nothing
    /// is queued (at most `leaveTimeout`), and only then calls `rd_kafka_consumer_close`. Closing
    /// with a cooperative assignment still queued for the application (the rejoin after a session
    /// loss, or a first assignment not yet polled) can hang librdkafka 2.0.2 for ever: the close's
    /// TERMINATE is handled first, then the application's late `incremental_assign` is turned into
    /// a full unassign that ends the group while the revocation it handed out is still pending
    /// (`rd_kafka_cgrp_handle_assign_op`; confluentinc/librdkafka#4527, fixed in 2.4.0). Served
    /// before the close, the assignment is applied and then revoked normally.
    /// `KafkaConsumerCloseTests` reproduce the hang with librdkafka's own close.
    ///
    /// A consumer that subscribed and was never assigned first waits (at most `leaveTimeout`) for
    /// its first assignment, serving group events: librdkafka 2.0.2 crashes when a cooperative
    /// consumer is destroyed after its JoinGroup response (which sets the group's assignor) and
    /// before its first SyncGroup response (which sets the sticky assignor's state): the group's
    /// final destroy hands the NULL state to `rd_kafka_sticky_assignor_state_destroy`
    /// (confluentinc/librdkafka#4312, fixed in 2.3.0 by #4381), and a SyncGroup response that arrives
    /// once the close began is discarded, so only waiting before it helps. If the assignor was
    /// chosen and no assignment came within `leaveTimeout`, the client is closed but never
    /// destroyed (logged). `NeverAssignedCloseTests` reproduce the crash and check this close.
    /// - Complexity: one round of rebalance handlers; typically a few milliseconds (up to the
    ///   group's forming when closed before the first assignment).
    public func close(leaveTimeout: Duration = .seconds(10)) {
        guard !closed else { return }
        waker.stop()
        if !awaitFirstAssignment(timeout: leaveTimeout) {
            destroyable = false
            logger.warning("the consumer group chose its assignor but gave no assignment within \(leaveTimeout); the client is closed but not destroyed (librdkafka 2.0.2 would crash, confluentinc/librdkafka#4312)")
        }
        if subscribed {
            leaveGroup(timeout: leaveTimeout)
        } else {
            // Assigned by the application (``assign(_:)``): no group to leave; unsubscribing
            // would not end the assignment, and waiting for it to end took the whole timeout.
            rd_kafka_assign(rk, nil)
        }
        closed = true
        rd_kafka_consumer_close(rk)
        unforward(Array(partitionQueues.keys))
        if let queryClient { rd_kafka_destroy(queryClient) }
        queryClient = nil
    }

    /// Subscribed and never assigned: serves group events until the first assignment (its
    /// SyncGroup response set the assignor's state). False when none came within `timeout` and
    /// the assignor is already chosen (destroying the client could crash, #4312).
    private func awaitFirstAssignment(timeout: Duration) -> Bool {
        guard subscribed, !context.everAssigned else { return true }
        let clock = ContinuousClock()
        let end = clock.now + timeout
        while clock.now < end {
            serveGroupEvents(waitMs: 10)
            if context.everAssigned { return true }
        }
        return rebalanceProtocol == "NONE"
    }

    /// The group's rebalance protocol: `NONE` until a JoinGroup response chose the assignor, then
    /// `COOPERATIVE` or `EAGER`; nil without a group.
    var rebalanceProtocol: String? { rd_kafka_rebalance_protocol(rk).map { String(cString: $0) } }

    /// Unsubscribes, then serves group events (the rebalance handler runs for a queued
    /// assignment and for the final revocation) until nothing is assigned and the group queue
    /// stayed empty for 100 ms, or `timeout` passed.
    private func leaveGroup(timeout: Duration) {
        rd_kafka_unsubscribe(rk)
        let clock = ContinuousClock()
        let end = clock.now + timeout
        var quietSince: ContinuousClock.Instant?
        while clock.now < end {
            let queued = pendingGroupEvents
            serveGroupEvents(waitMs: 10)
            if queued == 0, ((try? assignment()) ?? []).isEmpty {
                let now = clock.now
                if let q = quietSince, now - q >= .milliseconds(100) { return }
                if quietSince == nil { quietSince = now }
            } else {
                quietSince = nil
            }
        }
        logger.warning("leaving the group did not finish within \(timeout); closing anyway")
    }

    /// Events (rebalances, errors) waiting on the group queue for the application.
    var pendingGroupEvents: Int {
        let q = rd_kafka_queue_get_consumer(rk)
        defer { if let q { rd_kafka_queue_destroy(q) } }
        return q.map { Int(rd_kafka_queue_length($0)) } ?? 0
    }

    /// librdkafka's own close, without leaving the group first: for the tests that reproduce its hang.
    func closeWithoutLeaving() {
        guard !closed else { return }
        closed = true
        waker.stop()
        rd_kafka_consumer_close(rk)
    }

    /// The name of topic number `index` in this consumer's table.
    public func topicName(at index: Int) -> String { context.topicNames[index] }

    // MARK: Rebalance (called by the C callback)

    fileprivate func handleRebalance(_ err: rd_kafka_resp_err_t, _ list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) {
        let partitions = RDPartitionList.read(list).map(\.topicPartition)
        let cooperative = String(cString: rd_kafka_rebalance_protocol(rk)) == "COOPERATIVE"
        context.counters.rebalances += 1
        if err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS {
            context.everAssigned = true
            context.onRebalance?(.assigned(partitions))
            for i in 0..<Int(list.pointee.cnt) {
                let tp = TopicPartition(topic: String(cString: list.pointee.elems[i].topic), partition: list.pointee.elems[i].partition)
                if let start = context.startOffsets.removeValue(forKey: tp) { list.pointee.elems[i].offset = start }
            }
            forward(partitions)
            if cooperative {
                if let e = rd_kafka_incremental_assign(rk, list) { rd_kafka_error_destroy(e) }
            } else {
                rd_kafka_assign(rk, list)
            }
        } else {
            let lost = rd_kafka_assignment_lost(rk) != 0
            context.onRebalance?(lost ? .lost(partitions) : .revoked(partitions))
            unforward(partitions)
            context.pendingResets.removeAll { partitions.contains($0.0) }
            if cooperative {
                if let e = rd_kafka_incremental_unassign(rk, list) { rd_kafka_error_destroy(e) }
            } else {
                rd_kafka_assign(rk, nil)
            }
        }
    }
}

/// State reached from librdkafka's C callbacks through the client opaque.
final class ConsumerContext {
    weak var consumer: KafkaConsumer?
    var onRebalance: ((RebalanceEvent) -> Void)?
    var onEvent: ((ConsumerEvent) -> Void)?
    var body: ((KafkaMessage) -> Void)?
    var counters = ConsumerCounters()
    var startOffsets: [TopicPartition: Int64] = [:]

    /// Tells the fetch waker how full the fetch queue is.
    @inline(__always)
    func observeQueue() {
        guard let waker, let fetchQueue else { return }
        let average = counters.messages > 0 ? Int(counters.bytes / counters.messages) : 0
        waker.observe(queueLength: Int(rd_kafka_queue_length(fetchQueue)), averageBytes: average)
    }
    /// An assignment (possibly empty) was handed to the rebalance handler: the group's first
    /// SyncGroup response was handled.
    var everAssigned = false
    var pendingResets: [(TopicPartition, Int64)] = []
    var topicNames: [String] = []
    /// Set by the consumer: the queue the fetch callback drains and its waker, checked every
    /// 1,024 messages so fetching restarts while the rest of a large backlog is processed.
    var fetchQueue: OpaquePointer?
    var waker: FetchWaker?
    private var rktCache: [(OpaquePointer, Int)] = []

    @inline(__always)
    func topicIndex(_ rkt: OpaquePointer?) -> Int {
        guard let rkt else { return -1 }
        for (p, i) in rktCache where p == rkt { return i }
        let name = String(cString: rd_kafka_topic_name(rkt))
        let index: Int
        if let i = topicNames.firstIndex(of: name) {
            index = i
        } else {
            topicNames.append(name)
            index = topicNames.count - 1
        }
        rktCache.append((rkt, index))
        return index
    }

    @inline(__always)
    func view(_ m: UnsafePointer<rd_kafka_message_t>) -> KafkaMessage {
        let i = topicIndex(m.pointee.rkt)
        return KafkaMessage(raw: m, topicIndex: i, topic: i >= 0 ? topicNames[i] : "")
    }

    func handleError(_ m: UnsafePointer<rd_kafka_message_t>) {
        let i = topicIndex(m.pointee.rkt)
        let topic = i >= 0 ? topicNames[i] : nil
        let tp = TopicPartition(topic: topic ?? "", partition: m.pointee.partition)
        switch m.pointee.err {
        case RD_KAFKA_RESP_ERR__PARTITION_EOF:
            onEvent?(.endOfPartition(tp, offset: m.pointee.offset))
        case RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET:
            pendingResets.append((tp, m.pointee.offset))
        default:
            let text = m.pointee.payload.map { String(decoding: UnsafeRawBufferPointer(start: $0, count: m.pointee.len), as: UTF8.self) }
            let err = KafkaError.broker(
                code: KafkaErrorCode(rawValue: m.pointee.err.rawValue),
                message: text ?? String(cString: rd_kafka_err2str(m.pointee.err)),
                context: KafkaErrorContext(operation: "consume", topic: topic, partition: topic == nil ? nil : m.pointee.partition,
                                           offset: topic == nil ? nil : m.pointee.offset),
                isFatal: false, isRetriable: true)
            onEvent?(.error(err))
        }
    }
}

private func fetchCallback(_ m: UnsafeMutablePointer<rd_kafka_message_t>?, _ opaque: UnsafeMutableRawPointer?) {
    guard let m, let opaque else { return }
    let ctx = Unmanaged<ConsumerContext>.fromOpaque(opaque).takeUnretainedValue()
    if m.pointee.err != RD_KAFKA_RESP_ERR_NO_ERROR {
        ctx.handleError(m)
        return
    }
    ctx.counters.messages &+= 1
    ctx.counters.bytes &+= UInt64(m.pointee.len)
    if ctx.counters.messages & 1023 == 0 { ctx.observeQueue() }
    ctx.body?(ctx.view(m))
}

private func rebalanceCallback(
    _ rk: OpaquePointer?, _ err: rd_kafka_resp_err_t,
    _ list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?, _ opaque: UnsafeMutableRawPointer?
) {
    guard let rk, let list else { return }
    guard let opaque, let consumer = Unmanaged<ConsumerContext>.fromOpaque(opaque).takeUnretainedValue().consumer else {
        // No Swift owner any more (closing): apply the change so librdkafka can proceed.
        if err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS { rd_kafka_assign(rk, list) } else { rd_kafka_assign(rk, nil) }
        return
    }
    consumer.handleRebalance(err, list)
}
