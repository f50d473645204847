import Foundation
import Logging
import WeirCore
import WeirKafka
import WeirStats
import WeirTopology

/// `weir run --partitioned` (`docs/scaling.md`): the instances of one topology and consumer
/// group split the source partitions (cooperative-sticky); each runs one task per assigned
/// partition (decode, keyed windows and features, scores with the newest broadcast weights) and
/// one of them, holding the global-stage lease, runs the global stage (learning, drift, gate,
/// retraining, the `by: global` windows over the fields each task sends per event) from
/// `<name>.global` and broadcasts the champion's weights on `<name>.weights`.
///
/// State per partition: task `p` checkpoints to partition `p` of `<name>.changelog`, so a
/// rebalance restores only the partitions that moved (time logged and reported); the global
/// stage checkpoints to `<name>.global.changelog` with the `<name>.global` offsets it covers
/// and the newest source offset it processed per task (a task that restarts sends some events
/// again; the global stage skips them).
///
/// The key rule: a task checks every decoded record's message key against its `source.key`
/// value and stops the run at the first that differs or is missing (``PartitionKeyError``, before
/// the batch is used, so nothing from it on is checkpointed); a topology without `source.key` or
/// with windows keyed by another field is refused at start.
///
/// One thread drives the loop (tasks, weights, lease). While this instance holds the global
/// stage, each round runs the global stage's step on another thread at the same time as the
/// tasks' step and waits for both (``stepTogether(_:_:busy:)``): the two share no mutable state
/// (each has its own clients, producer and pipeline; the metrics both update are thread-safe),
/// and everything else the loop does with the global stage (checkpoints, the lease's hand-over,
/// progress, gauges) runs after the wait. So on an instance with two cores the global stage and
/// the tasks each get one.
///
/// Exactly once (docs/scaling.md): the tasks of an instance share one transactional producer
/// (`weir-<name>-<group>-<instance id>`) and one transaction per checkpoint interval, holding
/// every task's outputs, batches for the global stage and checkpoint, and the source offsets
/// (``TaskSet/commitAll(claiming:)``); a revocation commits them all, a lost assignment
/// aborts them all and stops the instance. The global stage has its own transaction. Each
/// task's writer id (checkpoint owner, `weir.txn`) is the instance's followed by `.p<partition>`.
///
/// With `model.label_topic` the tasks send each event's message timestamp and the global stage
/// reads the label topic itself (``GlobalLabelMerge``).
///
/// Not yet: a `by: global` window read by a model input, or
/// aggregated over a string or open category field other than by `count` (each refused with an
/// error naming it), repartitioning wrongly keyed sources.
struct PartitionedRunner {
    let runner: KafkaRunner
    /// nil when the run exports no metrics.
    let metrics: PartitionedMetrics?

    init(runner: KafkaRunner, topology: String) {
        self.runner = runner
        metrics = runner.metrics == nil ? nil : PartitionedMetrics(topology: topology)
    }
    var options: KafkaRunner.Options { runner.options }
    var logger: Logger { runner.logger }

    static func globalTopic(_ topology: String) -> String { topology + ".global" }
    static func weightsTopic(_ topology: String) -> String { topology + ".weights" }
    static func globalChangelog(_ topology: String) -> String { topology + ".global.changelog" }
    static func instancesTopic(_ topology: String) -> String { topology + ".instances" }

    /// The topics of partitioned mode: created when missing (with as many partitions as the
    /// source where one partition per task is needed), refused when too small.
    func prepareTopics(_ compiled: CompiledTopology) throws -> Int {
        let spec = compiled.spec
        // The key rule (source.key, windows keyed by it) before anything touches Kafka; a task
        // checks it again when it is set up.
        try Pipeline.checkPartitionKeys(compiled)
        if (options.guarantee ?? spec.processing.guarantee) == .exactlyOnce && options.checkpoints != .kafka {
            throw KafkaError.invalidState("--partitioned exactly once commits each task's checkpoint with its outputs: use --checkpoints kafka (or --guarantee at_least_once)")
        }
        if case .directory = options.checkpoints {
            throw KafkaError.invalidState("--partitioned keeps task checkpoints in <name>.changelog: use --checkpoints kafka (or none)")
        }
        let admin = try KafkaAdmin(configuration: KafkaConfiguration(bootstrapServers: options.brokers, clientID: "weir-\(spec.name)",
                                                                     properties: options.properties), embeddedBroker: runner.embedded)
        let topics = try admin.listTopics()
        guard let source = spec.source.topics.first, let info = topics.first(where: { $0.name == source }) else {
            throw KafkaError.invalidState("source topic \(spec.source.topics.first ?? "?") does not exist on \(options.brokers)")
        }
        let partitions = info.partitions.count
        var wanted: [(String, Int)] = [(Self.globalTopic(spec.name), partitions), (Self.weightsTopic(spec.name), 1),
                                       (Self.globalChangelog(spec.name), 1)]
        if runner.serving != nil { wanted.append((Self.instancesTopic(spec.name), 1)) }
        if options.checkpoints == .kafka { wanted.append((KafkaChangelogStore.topicName(spec.name), partitions)) }
        var missing: [NewTopic] = []
        for (name, n) in wanted {
            if let t = topics.first(where: { $0.name == name }) {
                guard t.partitions.count >= n else {
                    throw KafkaError.invalidState("topic \(name) has \(t.partitions.count) partitions; --partitioned needs \(n) (one per partition of \(source)): create it with \(n) partitions or delete it")
                }
            } else {
                missing.append(NewTopic(name: name, partitions: Int32(n), configs: [Self.weightsTopic(spec.name), Self.instancesTopic(spec.name)].contains(name) ? ["cleanup.policy": "compact"] : [:]))
            }
        }
        if !missing.isEmpty {
            do {
                _ = try admin.createTopics(missing, timeout: .seconds(5))
            } catch {
                // E.g. a standalone `weir broker` (no CreateTopics): it creates topics on first
                // use with its default partition count, which must be at least the source's.
                logger.warning("could not create \(missing.map { "\($0.name) (\($0.partitions) partitions)" }.joined(separator: ", ")) (\(error)); relying on the broker creating them on first use: they need those partition counts")
            }
        }
        return partitions
    }

    /// Runs until stopped (or, with `stopAtEnd`, until every partition ended and the global
    /// stage, if this instance holds it, processed all of them). Returns the global stage's
    /// pipeline with the tasks' record counts (or a fresh one with them).
    func run(_ compiled: CompiledTopology) throws -> Pipeline {
        let spec = compiled.spec
        _ = try prepareTopics(compiled)
        let setup = try runner.prepare(compiled)
        let owner = options.instanceID ?? CheckpointCoordinator.defaultOwner()
        let clock = ContinuousClock()
        let deadline = options.maxDuration.map { clock.now + $0 }
        // Exactly once: one transactional id per instance (stable when --instance-id is, e.g. a
        // StatefulSet's pod name: then a restarted instance fences its predecessor on real clusters).
        let producer = try KafkaProducer(configuration: ProducerConfiguration(
            client: setup.client, transactionalID: setup.guarantee == .exactlyOnce ? "weir-\(spec.name)-\(options.groupID)-\(owner)" : nil, lingerMs: 5))
        let tasks = TaskSet(runner: self, compiled: compiled, setup: setup, owner: owner, producer: producer)
        var leaseClient = setup.client
        leaseClient.properties["allow.auto.create.topics"] = "true"
        let leaseGroup = options.groupID + ".global-lease"
        let lease = try InstanceLease(client: leaseClient, group: leaseGroup, topic: Self.globalChangelog(spec.name),
                                      sessionTimeoutMs: options.sessionTimeoutMs, logger: logger)
        var global: GlobalStage?
        var result: Pipeline?
        var lastProgress = clock.now
        var lastGauges = clock.now
        var busy = false
        var waiting = BoundedRunWait()  // [ops] what a bounded run still waits for, logged when it goes quiet
        var globalSteps = 0  // the global stage's steps that did work (progress for `waiting`)
        let start = clock.now
        defer {
            lease.onRevoke = nil
            lease.close()
        }
        // [ops] Readiness: a partitioned instance is never a standby; ready once running with
        // its assigned tasks restored (each restore runs inside the assignment).
        runner.status?.setStandby(false)
        runner.status?.setStateRestored(true)
        do {
            try tasks.start()
            runner.status?.setRunning(true)
            defer { runner.status?.setRunning(false) }
            while !runner.shouldStop() {
                if let g = global {
                    busy = try Self.stepTogether(g, tasks, busy: busy)
                    if busy { globalSteps += 1 }
                } else {
                    try tasks.step(pollTimeout: .milliseconds(100))
                }
                try lease.poll()
                if lease.holds && global == nil {
                    global = try startGlobalStage(compiled, setup: setup, owner: owner)
                    lease.onRevoke = { [global] in
                        // Checkpoint before the lease moves (the next holder resumes from it).
                        do { try global?.checkpoint() } catch { logger.error("global stage checkpoint on hand-over failed: \(error)") }
                    }
                } else if !lease.holds, let g = global {
                    logger.warning("global stage lease \(lease.lost ? "lost" : "handed over"); the global stage stops here")
                    g.close()
                    global = nil
                    lease.onRevoke = nil
                }
                if let g = global, clock.now - g.lastCheckpoint >= setup.interval { try g.checkpoint(periodic: true) }
                if let metrics = runner.metrics, clock.now - lastGauges >= .milliseconds(500) {
                    // [ops] Window gauges over every task (and the global stage's windows), the model's from the global stage.
                    metrics.refreshGauges(tasks.tasks.values.lazy.map(\.pipeline) + (global.map { [$0.pipeline] } ?? []), budget: tasks.stateBudget)
                    lastGauges = clock.now
                }
                if clock.now - lastProgress >= .seconds(1), let onProgress = runner.onProgress {
                    onProgress(progress(tasks, global, since: start, clock: clock))
                    lastProgress = clock.now
                }
                if options.stopAtEnd && Self.boundedRunEnds(tasksEnded: tasks.boundedRunComplete, globalStageEnded: global?.allEnded,
                                                            leaseGroupJoined: lease.joined) {
                    if let g = global {
                        try g.finish()
                    }
                    break
                }
                if let deadline, clock.now >= deadline { break }
                // Progress: the tasks' records and dead letters, and the global stage's steps that did work.
                if options.stopAtEnd, case let t = tasks.totals, waiting.observe(processed: t.records + t.deadLetters + globalSteps, now: clock.now) {
                    let pending = BoundedRunWait.Pending(assigned: tasks.everAssigned, tasks: tasks.pendingTasks, global: global?.pending,
                                                         leaseGroupJoined: lease.joined)
                    let words = pending.description(source: setup.source, globalTopic: Self.globalTopic(spec.name), leaseGroup: leaseGroup)
                    logger.info("bounded run (--stop-at-end) has processed nothing new for \(BoundedRunWait.quietPeriod); it waits for \(words)")
                }
            }
            try global?.checkpoint()
            try tasks.stop()
            runner.onProgress?(progress(tasks, global, since: start, clock: clock))
            result = global?.pipeline
            global?.close()
            global = nil
        } catch {
            global?.close()
            tasks.abandon()
            throw error
        }
        var out = try result ?? Pipeline(compiled: compiled, partitions: setup.sourcePartitions, now: KafkaRunner.nowMs())
        out.counters.records = tasks.totals.records
        out.counters.deadLetters = tasks.totals.deadLetters
        out.counters.windowResults = tasks.totals.windowResults
        out.counters.lateEvents = tasks.totals.lateEvents
        return out
    }

    /// Whether a bounded run (`--stop-at-end`) ends: its tasks ended and, if this instance holds
    /// the global stage (`globalStageEnded` not nil), that processed everything; an instance
    /// without it first waits for its lease group's assignment, which says whether another
    /// instance holds the stage or the lease is about to come here. Ending before that left the
    /// global stage unrun when this was the only instance (labels unapplied, drift unjudged until
    /// the next run): `PartitionedLabelTopicTests`' rolling restart failed so once in a local
    /// run, 2026-12-07, its last instance's lease group having formed after its tasks ended.
    static func boundedRunEnds(tasksEnded: Bool, globalStageEnded: Bool?, leaseGroupJoined: Bool) -> Bool {
        tasksEnded && (globalStageEnded ?? leaseGroupJoined)
    }

    /// One round with the global stage: its step on another thread (``BackgroundJob``) while
    /// this thread runs the tasks' step, then both are waited for; whether the global stage
    /// worked (the next round's tasks then poll without waiting). The job captures the stage
    /// only, which nothing else touches until the wait returns (also when the tasks' step throws).
    /// [serving] While this thread waits for the global stage (a step with a backlog, or a drift
    /// judgement, takes milliseconds), it answers the tasks' serving requests every ~0.5 ms.
    static func stepTogether(_ global: GlobalStage, _ tasks: TaskSet, busy: Bool) throws -> Bool {
        nonisolated(unsafe) let stage = global
        let job = BackgroundJob { Result { try stage.step(now: KafkaRunner.nowMs()) } }
        do {
            try tasks.step(pollTimeout: busy ? .zero : .milliseconds(20))
        } catch {
            _ = job.wait()
            throw error
        }
        let served = tasks.serving != nil
        return try (served ? job.wait(every: .microseconds(500)) { tasks.serveRequests() } : job.wait()).get()
    }

    /// The global stage restored from its changelog and claimed (``GlobalStage/claim()``).
    private func startGlobalStage(_ compiled: CompiledTopology, setup: KafkaRunner.Setup, owner: String) throws -> GlobalStage {
        try Self.restoreAndClaim("global stage", logger: logger,
                                 restore: { try GlobalStage(runner: self, compiled: compiled, setup: setup, owner: owner, partitions: setup.sourcePartitions) },
                                 claim: { try $0.claim() }, discard: { $0.close() })
    }

    /// How many times state is restored again when its previous owner wrote a checkpoint of it
    /// during the restore (each time, the newest is restored).
    static let claimAttempts = 3

    /// Restores state (`restore`) and claims it (`claim`: a checkpoint written at once, see
    /// ``TaskSet/claim(_:_:)``). When the claim is fenced because the previous owner wrote a
    /// newer checkpoint since the restore read the changelog, the restored copy is discarded and
    /// the newest restored again, up to ``claimAttempts`` times; other errors are thrown.
    /// - Parameter canRetry: false once a failed claim cannot be undone (exactly once: it aborted
    ///   the transaction of every task).
    static func restoreAndClaim<State>(_ what: String, logger: Logger, restore: () throws -> State,
                                       claim: (State) throws -> Void, discard: (State) -> Void,
                                       canRetry: () -> Bool = { true }) throws -> State {
        var attempt = 0
        while true {
            attempt += 1
            let state = try restore()
            do {
                try claim(state)
                return state
            } catch let e as CheckpointError {
                discard(state)
                guard case .fenced(_, _, let other, let epoch) = e, attempt < claimAttempts, canRetry() else { throw e }
                logger.warning("\(what): \(other) wrote checkpoint epoch \(epoch) while this instance restored it; restoring again")
            } catch {
                discard(state)
                throw error
            }
        }
    }

    private func progress(_ tasks: TaskSet, _ global: GlobalStage?, since start: ContinuousClock.Instant, clock: ContinuousClock) -> RunProgress {
        var c = global?.pipeline.counters ?? PipelineCounters()
        let t = tasks.totals
        c.records = t.records
        c.deadLetters = t.deadLetters
        c.windowResults = t.windowResults
        c.lateEvents = t.lateEvents
        if global == nil { c.scored = t.scored }
        let seconds = (clock.now - start) / .seconds(1)
        return RunProgress(seconds: seconds, activeSeconds: tasks.firstInput.map { (clock.now - $0) / .seconds(1) } ?? 0,
                           events: t.records + t.deadLetters, counters: c, logLoss: nil, accuracy: nil,
                           modelSummary: global.flatMap { KafkaRunner.modelSummary($0.pipeline) })
    }
}

// MARK: tasks

/// The tasks of the partitions assigned to this instance, their consumer and the weights reader.
final class TaskSet {
    /// One source partition's task.
    final class Task {
        var pipeline: Pipeline
        let coordinator: CheckpointCoordinator
        var sink: KafkaSink
        var batch = InputBatch(capacity: 1024)
        /// Next source offset to process (nil: none processed or restored yet).
        var next: Int64?
        /// Next source offset after the newest checkpoint written or restored.
        var committed: Int64?
        /// The partition's end as last reported (end-of-partition).
        var end: Int64?
        /// A caught-up flag was sent for `end`.
        var caughtUpSent: Int64?
        var ended = false
        var dirty = false
        /// [metrics] What the metrics last counted of this task's pipeline (from its restore on).
        var seen: RuntimeMetrics.Seen

        init(pipeline: Pipeline, coordinator: CheckpointCoordinator, sink: KafkaSink) {
            self.pipeline = pipeline
            self.coordinator = coordinator
            self.sink = sink
            seen = RuntimeMetrics.Seen(pipeline)
        }
    }

    let runner: PartitionedRunner
    let compiled: CompiledTopology
    let setup: KafkaRunner.Setup
    let owner: String
    let producer: KafkaProducer
    /// Exactly once: the open transaction every task writes into (nil: at least once).
    let transaction: ProducerTransaction?
    /// Exactly once: a commit failed and the transaction was aborted; the instance must stop.
    var transactionFailed = false
    let globalTopic: ProducerTopic
    var consumer: KafkaConsumer?
    var weightsReader: KafkaConsumer?
    var changelogReader: KafkaConsumer?
    var tasks: [Int32: Task] = [:]
    var weights: ModelWeights?
    /// Partitions paused because their task ran more than `weightsMaxLead` offsets ahead of
    /// what the newest weights covered.
    var paused: Set<Int32> = []
    /// When each paused partition was paused (wall ms): waiting for weights is not silence of
    /// the source, so the task's wall clock is moved on by the pause when it resumes (its
    /// idleness would otherwise advance its watermark by the pause and make its next events late).
    var pausedAt: [Int32: Int64] = [:]
    var everAssigned = false
    var firstInput: ContinuousClock.Instant?
    var lastCheckpoint = ContinuousClock().now
    /// Exactly once: a task paused for weights waits for its uncommitted batches; the next
    /// commit is due after ``earlyCommitInterval`` instead of the checkpoint interval.
    var commitEarly = false
    static let earlyCommitInterval: Duration = .milliseconds(100)
    var lastLag = ContinuousClock().now
    /// `state.memory_limit`: the instance's budget over the window state of all its tasks (nil:
    /// none set). Its level decides for every task whether new keys are admitted.
    private(set) var stateBudget: StateBudget?
    var encoded: [UInt8] = []
    /// [ops] Every task's dead letters, logged with their position (rate-limited over the instance).
    var deadLetterLog: DeadLetterLog
    var failure: (any Error)?
    /// [serving] The serving queue, `<name>.instances` and what was last published there, and
    /// what the source's keys tell of the producers' partitioner (nil: no serving endpoint).
    let serving: ServingMailbox?
    /// Events per task batch: 1,024, fewer while requests keep arriving (``serveRequests()``).
    var batchLimit = 1024
    var instancesTopic: ProducerTopic?
    var instancesReader: KafkaConsumer?
    var published: [Int32]?
    var detector = PartitionerDetector()
    var keyedRecords = 0
    /// Records, dead letters, scores, window results and late events of the tasks that left, plus
    /// those running (``totals``).
    var departed = PipelineCounters()

    init(runner: PartitionedRunner, compiled: CompiledTopology, setup: KafkaRunner.Setup, owner: String, producer: KafkaProducer) {
        self.runner = runner
        self.compiled = compiled
        self.setup = setup
        self.owner = owner
        self.producer = producer
        transaction = setup.guarantee == .exactlyOnce ? ProducerTransaction(producer: producer, logger: runner.logger) : nil
        transaction?.metrics = runner.runner.metrics
        globalTopic = try! producer.topic(PartitionedRunner.globalTopic(compiled.spec.name))
        serving = runner.runner.serving
        stateBudget = compiled.spec.state.memoryLimitBytes.map { StateBudget(limit: $0) }
        deadLetterLog = DeadLetterLog(logger: runner.logger)
    }

    var totals: PipelineCounters {
        var c = departed
        for t in tasks.values {
            c.records += t.pipeline.counters.records
            c.deadLetters += t.pipeline.counters.deadLetters
            c.scored += t.pipeline.counters.scored
            c.windowResults += t.pipeline.counters.windowResults
            c.lateEvents += t.pipeline.counters.lateEvents
        }
        return c
    }

    /// Every assigned partition ended (a bounded run) after at least one assignment.
    var boundedRunComplete: Bool { everAssigned && tasks.values.allSatisfy(\.ended) }

    /// The assigned partitions whose tasks have not ended, in partition order (what
    /// ``boundedRunComplete`` waits for).
    var pendingTasks: [BoundedRunWait.TaskPosition] {
        tasks.filter { !$0.value.ended }.map { BoundedRunWait.TaskPosition(partition: $0.key, next: $0.value.next, end: $0.value.end) }
            .sorted { $0.partition < $1.partition }
    }

    func start() throws {
        let spec = compiled.spec
        let options = runner.options
        try transaction?.begin()
        changelogReader = options.checkpoints == .kafka ? try KafkaChangelogStore.makeReader(topology: spec.name, client: setup.client) : nil
        let consumer = try KafkaConsumer(configuration: ConsumerConfiguration(
            client: KafkaRunner.sourceConsumerClient(setup.client), groupID: options.groupID, offsetReset: options.from,
            reportEndOfPartition: true, sessionTimeoutMs: options.sessionTimeoutMs))
        self.consumer = consumer
        // Weights: the newest record, then every new one (no group: assigned).
        let weightsTopic = PartitionedRunner.weightsTopic(spec.name)
        // Read uncommitted: weights are a broadcast, used as soon as they are sent (exactly once,
        // the global stage's transaction commits only at its checkpoints).
        let reader = try KafkaConsumer(configuration: ConsumerConfiguration(client: KafkaRunner.internalConsumerClient(setup.client),
                                                                            groupID: options.groupID + ".weights-reader",
                                                                            offsetReset: .latest, isolation: .readUncommitted))
        let marks = try? reader.watermarks(TopicPartition(topic: weightsTopic, partition: 0), timeout: .seconds(5))
        try reader.assign([TopicPartitionOffset(topic: weightsTopic, partition: 0, offset: marks.map { max($0.low, $0.high - 1) } ?? TopicPartitionOffset.end)])
        weightsReader = reader
        try startServing()
        try consumer.subscribe([setup.source])
    }

    /// [serving] Routing between the group's instances (docs/serving.md): this instance's
    /// record on `<name>.instances` and a reader of everyone's (no group: assigned, from the start).
    func startServing() throws {
        guard let serving, let consumer else { return }
        let spec = compiled.spec
        let topic = PartitionedRunner.instancesTopic(spec.name)
        let url = serving.advertisedURL ?? "http://\(CheckpointCoordinator.hostName()):9464/"
        serving.install(router: ServingRouter(instance: owner, url: url, partitionCount: setup.sourcePartitions),
                        keys: EventKeyReader(compiled: compiled))
        instancesTopic = try producer.topic(topic)
        let reader = try KafkaConsumer(configuration: ConsumerConfiguration(client: KafkaRunner.internalConsumerClient(setup.client),
                                                                            groupID: runner.options.groupID + ".instances-reader",
                                                                            offsetReset: .earliest, isolation: .readUncommitted))
        try reader.assign([TopicPartitionOffset(topic: topic, partition: 0, offset: TopicPartitionOffset.beginning)])
        instancesReader = reader
        serving.wake = { [consumer] in consumer.wake() }
        serving.role = .active
    }

    /// [serving] Publishes this instance's partitions when they changed.
    func publishInstance() throws {
        guard let serving, let instancesTopic, let router = serving.currentRouter else { return }
        let record = router.record(now: KafkaRunner.nowMs())
        guard record.partitions != published else { return }
        try producer.send(to: instancesTopic, partition: 0, key: Array(owner.utf8), value: record.json)
        published = record.partitions
    }

    /// [serving] Everyone's records, and what this instance's tasks learned of the partitioner.
    func readInstances() throws {
        guard let serving, let reader = instancesReader else { return }
        var records: [(InstanceRecord, Int64)] = []
        try reader.poll(timeout: .zero) { m in
            if let v = m.value, let r = InstanceRecord(json: Array(v)) { records.append((r, m.offset)) }
        }
        let detected = detector
        serving.updateRouter { router in
            for (r, position) in records { router.apply(r, position: position) }
            if router.detector != detected { router.observed(detected) }
        }
    }

    /// One round, phase by phase: weights, the source poll (messages to their tasks, rebalances:
    /// ``pollSource(_:timeout:)``), each task's batch processed and sent to the global stage,
    /// bounded-run ends, flow control, serving metadata, lag, the producer, and checkpoints.
    func step(pollTimeout: Duration) throws {
        // Every task waiting for weights: wait on the weights topic, not the source.
        let waiting = !paused.isEmpty && tasks.allSatisfy { paused.contains($0.key) || $0.value.ended }
        try readWeights(timeout: waiting ? pollTimeout : .zero)
        guard let consumer else { return }
        try pollSource(consumer, timeout: waiting ? .zero : pollTimeout)
        serveRequests()  // [serving] what woke the poll, before the partial batches
        for p in tasks.keys.sorted() {
            try process(p)
            try endIfDone(p)
        }
        try applyFlowControl()
        if serving != nil {
            try readInstances()
            try publishInstance()
            serveRequests()
        }
        reportLag(consumer)
        producer.poll()
        if let fatal = producer.fatalError { throw fatal }
        try checkpointIfDue()
    }

    /// Polls the source: each message goes to its task's batch (a full batch is processed at
    /// once, so it can be reused); rebalances are handled inside the poll (``rebalanced(_:)``),
    /// before the assignment changes; partition ends are recorded on their tasks.
    private func pollSource(_ consumer: KafkaConsumer, timeout: Duration) throws {
        let source = setup.source
        var ends: [(Int32, Int64)] = []
        consumer.onRebalance = { [unowned self] event in rebalanced(event) }
        consumer.onEvent = { event in
            if case .endOfPartition(let tp, let offset) = event, tp.topic == source { ends.append((tp.partition, offset)) }
        }
        defer {
            consumer.onRebalance = nil
            consumer.onEvent = nil
        }
        var full: [Int32] = []
        let stampsEvents = setup.labelTopic != nil
        try consumer.poll(timeout: timeout) { m in
            // After a failure (e.g. a message keyed wrongly) nothing more is processed: the run stops.
            guard failure == nil, let v = m.value else { return }
            let p = m.partition
            guard let t = tasks[p] else { return }
            if serving != nil, let k = m.key {
                if detector.wantsSample(keyedRecords) { detector.observe(key: k, partition: p, count: setup.sourcePartitions) }
                keyedRecords += 1
            }
            // With its key: the task checks it against the record's source.key value. With a label
            // topic, its message timestamp (the global stage orders labels against events by it).
            t.batch.append(v, key: m.key, partition: p, offset: m.offset, timestamp: stampsEvents ? (m.timestamp ?? .min) : nil)
            if t.batch.count >= batchLimit { full.append(p) }
            if full.count > 0 {
                // Process full batches at once so they can be reused; a task too far ahead of
                // the weights pauses here (one poll can deliver many batches).
                for q in full { do { try process(q) } catch { failure = error } }
                full.removeAll()
                do { try applyFlowControl() } catch { failure = error }
                serveRequests()  // [serving] between batches: a request waits for one batch, not for the whole poll
            }
        }
        if let failure { throw failure }
        for (p, offset) in ends { tasks[p]?.end = offset }
    }

    /// A rebalance of the source group, inside the poll: an assignment restores the new tasks
    /// (setting their start offsets), a revocation checkpoints the revoked ones; lost partitions
    /// are dropped, and exactly once the open transaction (every task's outputs since the last
    /// commit) is aborted and the run stops (a restart restores the checkpoints).
    private func rebalanced(_ event: RebalanceEvent) {
        let source = setup.source
        switch event {
        case .assigned(let ps):
            for tp in ps where tp.topic == source && tasks[tp.partition] == nil {
                do { try assign(tp.partition) } catch { failure = error }
            }
            runner.runner.metrics?.rebalanced(assignedCount: tasks.count)  // [ops] as one instance counts them
        case .revoked(let ps):
            for tp in ps where tp.topic == source {
                do { try revoke(tp.partition) } catch { failure = error }
            }
            runner.runner.metrics?.rebalanced(assignedCount: tasks.count)
        case .lost(let ps):
            for tp in ps where tp.topic == source { drop(tp.partition, why: "lost (session timed out)") }
            if let transaction {
                transaction.abort()
                transactionFailed = true
                failure = CheckpointError.partitionsLost(ps.filter { $0.topic == source }.map(\.partition))
            }
        }
    }

    /// [ops] Lag per assigned partition (high watermark - next offset), every few seconds, from
    /// the last fetch responses (no request).
    private func reportLag(_ consumer: KafkaConsumer) {
        let r = runner.runner
        guard r.status != nil || r.metrics != nil, ContinuousClock().now - lastLag >= .seconds(2) else { return }
        lastLag = ContinuousClock().now
        let lag = consumer.cachedLag(topic: setup.source, tasks.lazy.map { ($0.key, $0.value.next) })
        r.status?.setLag(lag)
        r.metrics?.setLag(lag)
    }

    /// Every checkpoint interval (after ``earlyCommitInterval`` when, exactly once, a task paused
    /// for weights waits for its own uncommitted batches): every task's checkpoint (``checkpointAll()``).
    private func checkpointIfDue() throws {
        let sinceCheckpoint = ContinuousClock().now - lastCheckpoint
        guard sinceCheckpoint >= setup.interval || (commitEarly && sinceCheckpoint >= Self.earlyCommitInterval) else { return }
        lastCheckpoint = ContinuousClock().now
        commitEarly = false
        try checkpointAll()
    }

    /// [serving] Answers the queued requests, each from its task's pipeline: call between batches.
    /// Sets the size of the next batches from the serving load (``ServingMailbox/batchLimit(otherwise:now:)``).
    func serveRequests() {
        guard let serving else { return }
        serving.serve(tasks: { [tasks] p in p.flatMap { tasks[$0]?.pipeline } }, now: KafkaRunner.nowMs())
        batchLimit = serving.batchLimit(otherwise: 1024)
    }

    /// A scoring task more than `weightsMaxLead` source offsets ahead of what the newest weights
    /// covered of its partition pauses it, and resumes below half of that: scores use weights
    /// at most that far behind (in the task's own partition; the global stage merges the others
    /// by event time). Topologies without a model do not wait.
    func applyFlowControl() throws {
        guard compiled.spec.model != nil, let consumer else { return }
        let maxLead = runner.options.weightsMaxLead
        var pause: [TopicPartition] = []
        var resume: [TopicPartition] = []
        for (p, t) in tasks where !t.ended {
            let covered = weights.flatMap { w in Int(p) < w.covered.count ? w.covered[Int(p)] : nil } ?? -1
            let lead = (t.next ?? 0) - 1 - covered
            if lead >= maxLead && !paused.contains(p) {
                paused.insert(p)
                pausedAt[p] = KafkaRunner.nowMs()
                pause.append(TopicPartition(topic: setup.source, partition: p))
            } else if lead < maxLead / 2 && paused.contains(p) {
                paused.remove(p)
                if let since = pausedAt.removeValue(forKey: p) { t.pipeline.shiftWallClock(by: max(0, KafkaRunner.nowMs() - since)) }
                resume.append(TopicPartition(topic: setup.source, partition: p))
            }
            // Exactly once the global stage reads a task's batches once its transaction commits
            // (on a real cluster): a paused task whose weights cover exactly what it committed
            // waits for its own uncommitted batches, so the next commit comes early. (On the
            // embedded broker, which shows uncommitted records, the weights can cover more.)
            if transaction != nil && paused.contains(p) && t.dirty && covered == (t.committed ?? 0) - 1 { commitEarly = true }
        }
        if !pause.isEmpty {
            try consumer.pause(pause)
            runner.logger.debug("paused \(pause.map(\.partition)): ahead of the newest weights by \(maxLead)+ offsets")
        }
        if !resume.isEmpty {
            try consumer.resume(resume)
            runner.logger.debug("resumed \(resume.map(\.partition))")
        }
    }

    /// Restores partition `p`'s task from its changelog partition (or starts it empty), then
    /// claims the partition there (``claim(_:_:)``).
    func assign(_ p: Int32) throws {
        everAssigned = true
        serving?.updateRouter { $0.assigned(p) }  // [serving] 503 restoring until it is ready
        try publishInstance()
        let clock = ContinuousClock()
        let began = clock.now
        let (task, restored) = try PartitionedRunner.restoreAndClaim("partition \(p)", logger: runner.logger, restore: { try restore(p) },
                                                                      claim: { try claim(p, $0.0) }, discard: { $0.0.coordinator.abort() },
                                                                      canRetry: { !transactionFailed })
        if let offset = restored?.offset(of: p) {
            consumer?.setStartOffsets([TopicPartitionOffset(topic: setup.source, partition: p, offset: offset)])
        }
        tasks[p] = task
        serving?.updateRouter { $0.ready(p) }  // [serving]
        runner.runner.status?.assign([p])  // [ops]
        let seconds = (clock.now - began) / .seconds(1)
        runner.logger.info("task \(setup.source)/\(p) \(restored == nil ? "started empty" : "restored from checkpoint epoch \(restored!.epoch)") in \(String(format: "%.3f", seconds)) s",
                           metadata: ["partition": "\(p)", "restore_seconds": "\(seconds)"])
        runner.metrics?.taskRestored(seconds: seconds)
    }

    /// A task for partition `p` from the newest checkpoint in its changelog partition.
    func restore(_ p: Int32) throws -> (Task, Checkpoint?) {
        let spec = compiled.spec
        let options = runner.options
        let store: (any CheckpointStore)? = options.checkpoints == .kafka
            ? try KafkaChangelogStore(topology: spec.name, group: options.groupID, producer: producer, client: setup.client, partition: p, reader: changelogReader)
            : nil
        let coordinator = CheckpointCoordinator(store: store, guarantee: setup.guarantee, owner: Self.taskOwner(owner, p), topology: spec.name,
                                                group: options.groupID, sourceTopic: setup.source, fullEvery: spec.processing.checkpointFullEvery,
                                                producer: producer, logger: runner.logger, sharedTransaction: transaction)
        coordinator.consumer = consumer
        coordinator.commitsGroupOffsets = false  // the changelog holds them; committed at a graceful stop
        if serving != nil { coordinator.whileWaiting = { [unowned self] in serveRequests() } }  // [serving] while it waits for the broker
        // A task's watermark is its partition's (docs/scaling.md): one partition.
        var pipeline = try Pipeline(compiled: compiled, partitions: 1, now: KafkaRunner.nowMs(), role: .task(partition: p))
        pipeline.backgroundDriftEvaluation = false
        let restored = try coordinator.restore(into: &pipeline)
        if let weights { pipeline.useWeights(weights) }
        if stateBudget?.level == .refusingNewKeys { pipeline.admitNewKeys(false) }  // the instance is at its budget
        var sink = try KafkaSink(producer: producer, sinks: spec.sinks, sourceTopic: setup.source,
                                 tagging: KafkaSink.tags(checkpointed: store != nil, headers: spec.processing.outputHeaders,
                                                         exactlyOnce: transaction != nil))
        sink.transactionOwner = transaction == nil ? nil : coordinator.owner
        sink.begin(epoch: coordinator.epoch + 1)
        let task = Task(pipeline: pipeline, coordinator: coordinator, sink: sink)
        task.next = restored?.offset(of: p)
        task.committed = task.next
        return (task, restored)
    }

    /// A task's writer id: its checkpoints' owner and, exactly once, its transaction tag.
    static func taskOwner(_ owner: String, _ p: Int32) -> String { "\(owner).p\(p)" }

    /// Claims a restored partition: a checkpoint of the restored state written at once (an
    /// increment of no change, unless a full image is due). An instance paused past its session
    /// (a zombie) that still runs `p`'s old task then finds this newer checkpoint of another owner
    /// before its own next one and is fenced (``KafkaChangelogStore/checkOwnership(owner:epoch:partitions:)``),
    /// instead of writing over the restored state, which would fence this, rightful, owner
    /// later. It throws ``CheckpointError/fenced(topology:ownEpoch:newerOwner:newerEpoch:)`` if
    /// the previous owner wrote since the restore read the changelog. Nothing to claim without a
    /// checkpoint (a task started empty has no position yet) or checkpoints.
    func claim(_ p: Int32, _ t: Task) throws {
        guard runner.options.checkpoints == .kafka, let next = t.next else { return }
        if transaction != nil { return try commitAll(claiming: (p, t)) }
        try t.coordinator.checkpoint(t.pipeline, offsets: [p: next], sink: &t.sink, revoking: true)
    }

    /// Partition `p` moves to another instance: what was read is processed and checkpointed first.
    /// Exactly once, every task's checkpoint is committed with it (one transaction holds them all).
    func revoke(_ p: Int32) throws {
        guard tasks[p] != nil else { return }
        try process(p)
        if transaction != nil { try commitAll() } else { try checkpoint(p, revoking: true) }
        drop(p, why: "revoked")
    }

    func drop(_ p: Int32, why: String) {
        paused.remove(p)
        pausedAt.removeValue(forKey: p)
        serving?.updateRouter { $0.released(p) }  // [serving]
        guard let t = tasks.removeValue(forKey: p) else { return }
        runner.runner.status?.revoke([p])  // [ops]
        t.coordinator.abort()
        departed.records += t.pipeline.counters.records
        departed.deadLetters += t.pipeline.counters.deadLetters
        departed.scored += t.pipeline.counters.scored
        departed.windowResults += t.pipeline.counters.windowResults
        departed.lateEvents += t.pipeline.counters.lateEvents
        runner.logger.info("task \(setup.source)/\(p) \(why)")
    }

    /// Processes `p`'s batch and sends what the global stage needs.
    func process(_ p: Int32) throws {
        guard let t = tasks[p], t.batch.count > 0 else { return }
        if firstInput == nil { firstInput = ContinuousClock().now }
        let batch = t.batch
        let began = ContinuousClock().now
        try t.pipeline.process(batch, topic: setup.source, now: KafkaRunner.nowMs(), into: &t.sink)
        runner.runner.metrics?.batchProcessed(t.pipeline, events: batch.count, duration: ContinuousClock().now - began, seen: &t.seen)  // [ops]
        deadLetterLog.batchProcessed(t.pipeline, topic: setup.source)  // [ops] with topic/partition/offset/field
        observeStateBudget()
        t.next = max(t.next ?? 0, batch.offsets[batch.count - 1] + 1)
        t.batch.removeAll()
        t.dirty = true
        try sendGlobal(p, flags: [])
    }

    /// `state.memory_limit` over every task's window state (after each batch; O(tasks × windows)):
    /// at the limit no task adds keys, below 90% of it they all do again (``StateBudget``);
    /// changes are logged and published (readiness) as one instance's are.
    private func observeStateBudget() {
        guard stateBudget != nil else { return }
        let bytes = tasks.values.reduce(0) { $0 + $1.pipeline.windowStateBytes }
        guard let change = stateBudget!.observe(bytes: bytes) else { return }
        for t in tasks.values { t.pipeline.admitNewKeys(change.admitNewKeys) }
        runner.runner.reportStateBudget([change], budget: stateBudget)
    }

    /// Sends `p`'s batch for the global stage, flagged caught up when the task has processed up
    /// to the end last reported.
    func sendGlobal(_ p: Int32, flags extra: GlobalBatchFormat.Flags) throws {
        var flags = extra
        let t = tasks[p]!
        if reachedEnd(t) { flags.insert(.caughtUp) }
        if t.pipeline.takeGlobalBatch(into: &encoded, flags: flags, readThrough: t.next) {
            try producer.send(to: globalTopic, partition: p, key: nil, value: encoded)
            if flags.contains(.caughtUp) { t.caughtUpSent = t.end }
        }
    }

    /// Whether task `t` processed everything up to its partition's reported end; its position
    /// (``Task/next``) moves to that end. librdkafka reports a partition's end after the records
    /// before it, so with nothing pending in the task every record below the end was processed:
    /// the offsets between its last record and the end hold nothing the task is given (a
    /// tombstone, a transaction's commit marker, records of an aborted transaction). Before
    /// 2026-12-07 such a partition was never caught up: the global stage waited for it while it
    /// was idle, and a bounded run never ended.
    func reachedEnd(_ t: Task) -> Bool {
        guard let end = t.end, t.batch.count == 0 else { return false }
        t.next = max(t.next ?? end, end)
        return true
    }

    /// A task read to its reported end says so to the global stage (once per end); in a
    /// bounded run it then ends: its windows fire and the global stage is told no more follows.
    func endIfDone(_ p: Int32) throws {
        guard let t = tasks[p], !t.ended, reachedEnd(t), let end = t.end else { return }
        if runner.options.stopAtEnd {
            try t.pipeline.partitionEnded(p, now: KafkaRunner.nowMs(), into: &t.sink)
            runner.runner.metrics?.outputsWritten(t.pipeline, seen: &t.seen)  // [ops] windows fired by the end
            t.ended = true
            t.dirty = true
            try sendGlobal(p, flags: [.caughtUp, .ended])
        } else if t.caughtUpSent != end {
            try sendGlobal(p, flags: [.caughtUp])
        }
    }

    func checkpoint(_ p: Int32, revoking: Bool) throws {
        guard let t = tasks[p], t.dirty, let next = t.next else { return }
        // A group commit refused during a rebalance (the generation moved on while partitions
        // move cooperatively) is not fencing here: the changelog partition's ownership check
        // is (another owner's newer checkpoint of `p` stops this instance).
        _ = revoking
        try t.coordinator.checkpoint(t.pipeline, offsets: [p: next], sink: &t.sink, revoking: true)
        t.dirty = false
        t.committed = next
    }

    func checkpointAll() throws {
        if transaction != nil { return try commitAll() }
        for p in tasks.keys.sorted() { try checkpoint(p, revoking: false) }
    }

    /// Exactly once: the outputs acknowledged, then the checkpoint of every task that processed
    /// input since its last one (and of `claiming`, a task just restored) staged into the open
    /// transaction, which is committed with their source offsets; then each checkpoint becomes its
    /// task's base and the next transaction begins. A failure aborts the
    /// transaction: every task's outputs since the last commit are gone and the instance must
    /// stop (``transactionFailed``); a restart restores the committed checkpoints.
    func commitAll(claiming: (Int32, Task)? = nil) throws {
        guard let transaction else { return }
        do {
            try CheckpointCoordinator.flushDelivered(producer, whileWaiting: serving == nil ? nil : { [unowned self] in serveRequests() })
            var writers = tasks
            if let (p, t) = claiming { writers[p] = t }
            var staged: [(Task, CheckpointCoordinator.Staged)] = []
            for p in writers.keys.sorted() {
                let t = writers[p]!
                guard let next = t.next, t.dirty || claiming?.0 == p else { continue }
                staged.append((t, try t.coordinator.stage(t.pipeline, offsets: [p: next], sink: t.sink)))
            }
            try transaction.commit(staged.flatMap(\.1.offsets), consumer: consumer)
            for (t, s) in staged {
                try t.coordinator.finish(s, t.pipeline, sink: &t.sink)
                t.dirty = false
                t.committed = t.next
            }
            try transaction.begin()
        } catch {
            transaction.abort()
            transactionFailed = true
            throw error
        }
    }

    func readWeights(timeout: Duration) throws {
        guard let reader = weightsReader else { return }
        var newest: [UInt8]?
        try reader.poll(timeout: timeout) { m in
            if let v = m.value { newest = Array(v) }
        }
        guard let bytes = newest, let m = compiled.spec.model else { return }
        do {
            let w = try ModelWeights(decoding: bytes, topology: compiled.spec.name, optimizer: m.optimizer.rawValue)
            weights = w
            for t in tasks.values { t.pipeline.useWeights(w) }
            runner.metrics?.weightsApplied(ageSeconds: Double(w.ageMs(now: KafkaRunner.nowMs())) / 1000)
        } catch {
            runner.logger.warning("ignoring an unreadable weights record on \(PartitionedRunner.weightsTopic(compiled.spec.name)): \(error)")
        }
    }

    /// Graceful stop: everything processed is checkpointed, then the group is left.
    func stop() throws {
        for p in tasks.keys.sorted() { try process(p) }
        try checkpointAll()  // exactly once, the next transaction is open for the instance record close() publishes
        // The group's offsets, for tools that read them (not for restarts: the changelog holds
        // them); only here, never while the group may rebalance (see CheckpointCoordinator).
        let done = tasks.compactMap { p, t in t.next.map { TopicPartitionOffset(topic: setup.source, partition: p, offset: $0) } }
        do { try consumer?.commit(done) } catch { runner.logger.warning("group offset commit at stop failed: \(error)") }
        try producer.flush(timeout: .seconds(30))
        close()
    }

    func abandon() {
        for t in tasks.values { t.coordinator.abort() }
        transaction?.abort()
        close()
    }

    private func close() {
        if let consumer {
            consumer.onRebalance = nil
            consumer.onEvent = nil
            consumer.close()
        }
        consumer = nil
        weightsReader?.close()
        weightsReader = nil
        for p in tasks.keys.sorted() { drop(p, why: "stopped") }
        if let serving {
            serving.role = .standby
            serving.wake = nil
            try? publishInstance()  // none held: the others stop redirecting here
            serving.install(router: nil, keys: nil)
        }
        if let transaction, transaction.isOpen {
            // Exactly once: after a graceful stop's commit this holds at most the instance record.
            do { try transaction.commit([], consumer: nil) } catch { transaction.abort() }
        }
        instancesReader?.close()
        instancesReader = nil
        changelogReader?.close()
        changelogReader = nil
        producer.close(timeout: .seconds(5))
    }
}
