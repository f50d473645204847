import Foundation
import Logging
import WeirCore
import WeirKafka
import WeirTopology

/// Progress of a running topology, reported to a callback about once a second.
public struct RunProgress: Sendable {
    /// Since the runner started (includes connecting and joining the group).
    public var seconds: Double
    /// Since the first input message arrived (the peers' throughput clock: first event in →
    /// last output flushed); 0 before any input.
    public var activeSeconds: Double
    public var events: Int
    public var counters: PipelineCounters
    public var logLoss: Double?
    public var accuracy: Double?
    /// The model's prequential metrics, as ``ModelStage/metricsSummary``.
    public var modelSummary: String?
    /// Checkpoints written so far and the newest epoch.
    public var checkpoints = 0
    public var epoch: UInt64 = 0
}

/// `weir run`: Kafka source → ``Pipeline`` → Kafka sinks, with checkpoints (see
/// `docs/fault-tolerance.md`).
///
/// With `model.label_topic` the same consumer (same group) also reads the label topic; events
/// and labels go to the pipeline (``Pipeline/process(_:topic:now:into:)``,
/// ``Pipeline/processLabels(_:topic:into:)``) in Kafka-timestamp order across both topics
/// (``TimestampMerge``: a label produced after its event finds it scored, whatever order the
/// topics were fetched in), and checkpoints and group commits cover the offsets of both topics.
///
/// Every checkpoint interval, on partition revocation and at shutdown, a
/// ``CheckpointCoordinator`` writes the pipeline's state with the source offsets it covers, after
/// the outputs they caused are acknowledged (at least once) or in one transaction with them
/// (exactly once), then commits the group offsets. On start the newest checkpoint is restored
/// and the source partitions resume from its offsets. Without checkpoints (`checkpoints: .none`)
/// only group offsets are committed, after the outputs are acknowledged. Output topics (and the
/// changelog) are created when missing (models and changelog compacted on real clusters).
public struct KafkaRunner {
    /// Where checkpoints are kept.
    public enum CheckpointLocation: Sendable, Equatable {
        /// The changelog topic `<topology>.changelog` on the same cluster (the default).
        case kafka
        /// Files in a local directory (exactly-once needs `.kafka`).
        case directory(String)
        /// No checkpoints: state starts empty on every start; only group offsets are committed.
        case none
    }

    public struct Options: Sendable {
        public var brokers: String
        public var groupID: String
        public var from: OffsetResetPolicy = .earliest
        /// Exit once every assigned partition is read to its end and outputs are flushed.
        public var stopAtEnd = false
        /// Offset commit interval when checkpoints are off.
        public var commitInterval: Duration = .seconds(1)
        public var properties: [String: String] = [:]
        /// Stop after this long (nil: run until stopped).
        public var maxDuration: Duration?
        public var checkpoints: CheckpointLocation = .kafka
        /// Overrides the topology's `processing.guarantee`.
        public var guarantee: ProcessingSpec.Guarantee?
        /// Overrides the topology's `processing.checkpoint_interval_ms`.
        public var checkpointInterval: Duration?
        /// This process's name in checkpoints and transactions (default: host, pid and start time).
        public var instanceID: String?
        /// Overrides the topology's `source.order`.
        public var order: SourceOrder?
        /// Consumer `session.timeout.ms` (how soon a stopped member loses its partitions).
        public var sessionTimeoutMs = 10_000
        /// Partitioned mode (`docs/scaling.md`): instances split the source partitions and one
        /// runs the global stage (``PartitionedRunner``). Every instance of a group must agree.
        public var partitioned = false
        /// Partitioned mode: how often at most the global stage broadcasts the champion's weights
        /// (when it learned or processed since), and how far (in source offsets) a task may run
        /// ahead of what the global stage had processed of its partition when it took the newest
        /// weights before the task pauses its partition: the staleness bound in events (`docs/scaling.md`).
        public var weightsInterval: Duration = .milliseconds(100)
        public var weightsMaxLead: Int64 = 8192
        /// Partitioned mode: most bytes of `<name>.global` batches the global stage holds for its
        /// merge before it pauses the partitions holding them (``GlobalBackPressure``; default
        /// 256 MiB, `weir_global_held_bytes`). Must be positive.
        public var globalMaxHeldBytes = 256 << 20
        /// Label topic: most records held per partition for the timestamp merge of the source and
        /// label topics, and longest hold (wall clock) before one goes anyway (``TimestampMerge``).
        public var labelHoldCapacity = 65_536
        public var labelMaxHold: Duration = .seconds(30)
        /// Label topic: how often at most the end of idle partitions is confirmed with a
        /// high-watermark query before held records pass them (the merge's latency at the live edge).
        public var labelEndCheckInterval: Duration = .milliseconds(100)
        public init(brokers: String, groupID: String) {
            self.brokers = brokers
            self.groupID = groupID
        }
    }

    public var options: Options
    public var logger: Logger
    public var embedded: EmbeddedBroker?
    public var onProgress: ((RunProgress) -> Void)?
    /// Shown every alert, retrain request and model decision record as it is produced.
    public var onOutput: ((OutputKind, UnsafeRawBufferPointer) -> Void)?
    /// Set to true (from another thread) to stop gracefully.
    public var shouldStop: @Sendable () -> Bool = { false }
    // [ops] Metrics (nil: none) and readiness status (read by /readyz), updated per batch/rebalance.
    public var metrics: RuntimeMetrics?
    public var status: RuntimeStatus?
    /// [serving] Serving requests (`GET /v1/features/{key}`, `POST /v1/score`), answered between batches.
    public var serving: ServingMailbox?

    public init(options: Options, logger: Logger = Logger(label: "weir.run"), embedded: EmbeddedBroker? = nil) {
        self.options = options
        self.logger = logger
        self.embedded = embedded
    }

    /// Runs until stopped (or, with `stopAtEnd`, until the input is consumed). Returns the pipeline.
    /// - Throws: ``CheckpointError/fenced(topology:ownEpoch:newerOwner:newerEpoch:)`` when another
    ///   instance took over; ``KafkaError`` for fatal client errors (fenced producer, data loss,
    ///   undeliverable outputs); ``CheckpointRestoreError`` when the checkpoint does not fit.
    public func run(_ compiled: CompiledTopology) throws -> Pipeline {
        if options.partitioned { return try PartitionedRunner(runner: self, topology: compiled.spec.name).run(compiled) }
        let setup = try prepare(compiled)
        let owner = options.instanceID ?? CheckpointCoordinator.defaultOwner()
        let clock = ContinuousClock()
        let deadline = options.maxDuration.map { clock.now + $0 }
        // Without checkpoints in Kafka there is no state to hand over: every instance processes the
        // partitions the group gives it.
        guard options.checkpoints == .kafka else {
            return try ActiveTerm(runner: self, compiled: compiled, setup: setup, owner: owner, lease: nil, deadline: deadline).run().pipeline
        }
        // One active instance per topology and group (``InstanceLease``); the others stand by and
        // take over the whole state when it leaves or fails.
        var leaseClient = setup.client
        // A standalone embedded broker has no CreateTopics: let it create the changelog on first use.
        leaseClient.properties["allow.auto.create.topics"] = "true"
        let lease = try InstanceLease(client: leaseClient, group: options.groupID + ".lease", topic: setup.changelog,
                                      sessionTimeoutMs: options.sessionTimeoutMs, logger: logger)
        defer { lease.close() }
        // The terms as the active instance (``LeaseStateMachine``). After losing the lease, while
        // it waits for the lease again, a checkpoint of another instance in the changelog (as the
        // lost term knew it) means this one was replaced (a zombie: exit fenced); getting the
        // lease back first means it was not (e.g. the broker was unreachable past the session timeout).
        var terms = LeaseStateMachine()
        while true {
            status?.setStandby(true)  // [ops]
            let acquired = try lease.acquire(stop: { shouldStop() || deadline.map { clock.now >= $0 } ?? false }, whileWaiting: {
                if let c = terms.waiting() { try c.store.checkOwnership(owner: owner, epoch: c.epoch, partitions: setup.allSourcePartitions) }
            })
            guard terms.acquired(acquired) == .runTerm else {
                return try Pipeline(compiled: compiled, partitions: setup.sourcePartitions, now: Self.nowMs())
            }
            status?.setStandby(false)  // [ops]
            let term = try ActiveTerm(runner: self, compiled: compiled, setup: setup, owner: owner, lease: (lease, terms), deadline: deadline).run()
            if terms.termEnded(term.end) == .stop { return term.pipeline }
            switch term.end {
            case .stopped: return term.pipeline
            case .leaseRevoked: logger.warning("the lease was handed over after a checkpoint; standing by")
            case .leaseLost: logger.warning("the lease was lost; standing by (state and offsets are in the changelog)")
            }
        }
    }

    /// How a term as the active instance ended.
    enum TermEnd {
        /// Stopped (signal, `--stop-at-end`, deadline): the final checkpoint is written.
        case stopped
        /// The lease group moved the lease; the revocation wrote a checkpoint first.
        case leaseRevoked
        /// The lease was lost (session timeout); nothing since `epoch` was committed. `store`
        /// is the changelog as this term knew it.
        case leaseLost(store: any CheckpointStore, epoch: UInt64)
    }

    /// What `run` resolves once: guarantee, topics, the client configuration.
    struct Setup {
        var guarantee: ProcessingSpec.Guarantee
        var interval: Duration
        var labelTopic: String?
        var labelPartitions: Int
        var ordered: Bool
        var client: KafkaConfiguration
        var source: String
        var sourcePartitions: Int
        var changelog: String
        /// Every source partition (what ownership checks cover: this runner owns them all).
        var allSourcePartitions: Set<Int32> { Set(0..<Int32(sourcePartitions)) }
    }

    /// Checks the topics and creates the missing output topics (and the changelog).
    func prepare(_ compiled: CompiledTopology) throws -> Setup {
        let spec = compiled.spec
        let guarantee = options.guarantee ?? spec.processing.guarantee
        let interval = options.checkpointInterval ?? .milliseconds(spec.processing.checkpointIntervalMs)
        let labelTopic = spec.model?.labelTopic
        // `source.order: timestamp`: the source partitions are merged in message-
        // timestamp order by the same merge as the label topic (``TimestampMerge`` with no label
        // side), so the pipeline's input order does not depend on how librdkafka interleaved fetches.
        let ordered = (options.order ?? spec.source.order) == .timestamp
        if guarantee == .exactlyOnce && options.checkpoints != .kafka {
            throw KafkaError.invalidState("exactly_once needs checkpoints in the Kafka changelog (not a directory or none)")
        }
        if guarantee == .exactlyOnce && spec.processing.outputHeaders == .none {
            logger.warning("processing.output_headers: none does not apply with --guarantee exactly_once: records carry weir.txn and their origin headers")
        }
        let client = KafkaConfiguration(bootstrapServers: options.brokers, clientID: "weir-\(spec.name)", properties: options.properties)
        let admin = try KafkaAdmin(configuration: client, embeddedBroker: embedded)
        let topics = try admin.listTopics()
        status?.setBrokerReachable(true)  // [ops]
        guard let source = spec.source.topics.first, let sourceInfo = topics.first(where: { $0.name == source }) else {
            throw KafkaError.invalidState("source topic \(spec.source.topics.first ?? "?") does not exist on \(options.brokers)")
        }
        if spec.source.topics.count > 1 { throw KafkaError.invalidState("weir run reads one source topic for now; the topology lists \(spec.source.topics.count)") }
        if let labelTopic {
            guard labelTopic != source else { throw KafkaError.invalidState("model.label_topic must differ from the source topic (\(source))") }
            guard topics.contains(where: { $0.name == labelTopic }) else {
                throw KafkaError.invalidState("label topic \(labelTopic) (model.label_topic) does not exist on \(options.brokers)")
            }
        }
        if let warning = Self.arrivalReferenceWarning(spec, partitions: sourceInfo.partitions.count, ordered: ordered, partitioned: options.partitioned) {
            logger.warning("\(warning)")
        }
        let existing = Set(topics.map(\.name))
        let changelog = KafkaChangelogStore.topicName(spec.name)
        var wanted = KafkaSink.topicNames(spec.sinks)
        if options.checkpoints == .kafka { wanted.append(changelog) }
        let missing = wanted.filter { !existing.contains($0) }.map { name in
            NewTopic(name: name, partitions: 1, configs: name == spec.sinks.models || name == changelog ? ["cleanup.policy": "compact"] : [:])
        }
        if !missing.isEmpty {
            do {
                _ = try admin.createTopics(missing, timeout: .seconds(5))
            } catch {
                // E.g. a standalone `weir broker` (librdkafka's mock has no CreateTopics): it creates
                // topics when they are first produced to.
                logger.warning("could not create output topics (\(error)); relying on the broker creating them on first use")
            }
        }
        return Setup(guarantee: guarantee, interval: interval, labelTopic: labelTopic,
                     labelPartitions: labelTopic.flatMap { t in topics.first { $0.name == t }?.partitions.count } ?? 0,
                     ordered: ordered, client: client, source: source, sourcePartitions: sourceInfo.partitions.count, changelog: changelog)
    }

    static func arrivalReferenceWarning(_ spec: TopologySpec, partitions: Int, ordered: Bool, partitioned: Bool) -> String? {
        guard !ordered, !partitioned, partitions > 1, case .firstEvents(let n)? = spec.drift?.reference else { return nil }
        return "drift reference first_events: \(n) is read in arrival order from \(partitions) partitions: on a backlog one partition "
            + "can run thousands of events ahead, so the reference and the first windows may hold later events and stationary data "
            + "may be called drifted; set source.order: timestamp (or --order timestamp) to make them the stream's first events"
    }

    /// The source consumer's client properties: `client` plus Weir's defaults where it sets none.
    /// - `consume.callback.max.messages` 2048: one poll serves at most this many messages, so
    ///   checkpoints (and progress) keep their interval while a large backlog is read.
    /// - `fetch.wait.max.ms` 100 (librdkafka: 500): how long the broker holds a fetch of a partition
    ///   with no new data. End of partition is only reported by the fetch after the last record, so
    ///   this bounds `--stop-at-end`, and the timestamp merge and label join confirming that an idle
    ///   partition has nothing older. 500 ms cost the contract benchmark ~0.3 s per run (RESULTS.md,
    ///   2026-11-23 21:40–21:50 UTC); 100 ms costs at most 10 empty fetches a second per broker while idle.
    static func sourceConsumerClient(_ client: KafkaConfiguration) -> KafkaConfiguration {
        var c = client
        for (name, value) in [("consume.callback.max.messages", "2048"), ("fetch.wait.max.ms", "100")] where c.properties[name] == nil {
            c.properties[name] = value
        }
        return c
    }

    /// The client properties of Weir's internal-topic consumers (`weir run --partitioned`'s
    /// `<name>.global` and `<name>.weights`, and the changelog reader; public for ScaleBench's
    /// `--kafka`): the source defaults, and the broker answers a fetch of an idle partition after
    /// 10 ms (librdkafka: 500; the source's 100), since each round trip of batches and weights
    /// bounds how fast tasks may run ahead (flow control) when the global stage keeps up.
    public static func internalConsumerClient(_ client: KafkaConfiguration) -> KafkaConfiguration {
        var c = sourceConsumerClient(client)
        if client.properties["fetch.wait.max.ms"] == nil { c.properties["fetch.wait.max.ms"] = "10" }
        return c
    }

    /// Logs the gate's new calibrations and the window state's budget level changes, and
    /// publishes the level (readiness).
    func reportStateBudget(_ pipeline: inout Pipeline) {
        for line in pipeline.takeNewCalibrations() { logger.info("gate.calibrate: \(line)") }
        reportStateBudget(pipeline.takeStateBudgetChanges(), budget: pipeline.stateBudget)
    }

    /// Logs budget level changes and publishes the level (readiness): one instance's pipeline's,
    /// or a partitioned instance's over its tasks.
    func reportStateBudget(_ changes: [StateBudget.Change], budget: StateBudget?) {
        for c in changes {
            let text = "window state \(StateBudget.size(c.bytes)) of its \(StateBudget.size(c.limit)) budget: \(c.from) → \(c.to)"
            let metadata: Logger.Metadata = ["state_bytes": "\(c.bytes)", "limit_bytes": "\(c.limit)", "level": "\(c.to)"]
            switch c.to {
            case .refusingNewKeys: logger.error("\(text); events of new keys are not aggregated until it shrinks below 90%", metadata: metadata)
            case .pressure where c.from == .normal: logger.warning("\(text)", metadata: metadata)
            default: logger.info("\(text)", metadata: metadata)
            }
        }
        if let budget { status?.setStateMemory(budget) }
    }

    static func nowMs() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    /// Whole milliseconds of `d`.
    static func milliseconds(_ d: Duration) -> Int64 { d.components.seconds * 1000 + d.components.attoseconds / 1_000_000_000_000_000 }
}
