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
}

/// `weir run`: Kafka source → ``Pipeline`` → Kafka sinks, at least once.
///
/// Offsets are committed only after every output the processed records caused has been
/// acknowledged by the brokers (producer flush), every `commitInterval` and at the end; a
/// crash replays from the last commit, so outputs may repeat but nothing is lost. Output topics
/// are created when missing (models compacted on real clusters).
public struct KafkaRunner {
    public struct Options: Sendable {
        public var brokers: String
        public var groupID: String
        public var from: OffsetResetPolicy = .earliest
        /// Exit once every assigned partition is read to its end and outputs are flushed.
        public var stopAtEnd = false
        public var commitInterval: Duration = .seconds(1)
        public var properties: [String: String] = [:]
        /// Stop after this long (nil: run until stopped).
        public var maxDuration: Duration?
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

    public init(options: Options, logger: Logger = Logger(label: "weir.run"), embedded: EmbeddedBroker? = nil) {
        self.options = options
        self.logger = logger
        self.embedded = embedded
    }

    /// Runs until stopped (or, with `stopAtEnd`, until the input is consumed). Returns the pipeline.
    public func run(_ compiled: CompiledTopology) throws -> Pipeline {
        let spec = compiled.spec
        let client = KafkaConfiguration(bootstrapServers: options.brokers, clientID: "weir-\(spec.name)", properties: options.properties)
        let admin = try KafkaAdmin(configuration: client, embeddedBroker: embedded)
        let topics = try admin.listTopics()
        status?.setBrokerReachable(true)  // [ops]
        guard let source = spec.source.topics.first, let sourceInfo = topics.first(where: { $0.name == source }) else {
            throw KafkaError.invalidState("source topic \(spec.source.topics.first ?? "?") does not exist on \(options.brokers)")
        }
        if spec.source.topics.count > 1 { throw KafkaError.invalidState("weir run reads one source topic for now; the topology lists \(spec.source.topics.count)") }
        let existing = Set(topics.map(\.name))
        let missing = KafkaSink.topicNames(spec.sinks).filter { !existing.contains($0) }.map { name in
            NewTopic(name: name, partitions: 1, configs: name == spec.sinks.models ? ["cleanup.policy": "compact"] : [:])
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

        let producer = try KafkaProducer(configuration: ProducerConfiguration(client: client, lingerMs: 5))
        let observe = onOutput ?? { _, _ in }
        // [ops] The metrics read drift records and alerts (once per monitor window) for PSI/KS and open alerts.
        let metrics = self.metrics
        var sink = TeeSink(base: try KafkaSink(producer: producer, sinks: spec.sinks),
                           kinds: Set<OutputKind>([.alerts, .retrain, .models]).union(metrics == nil ? [] : RuntimeMetrics.observedKinds),
                           observe: { kind, bytes in
                               metrics?.observe(kind, bytes)
                               if kind != .drift || metrics == nil { observe(kind, bytes) }
                           })
        let consumer = try KafkaConsumer(configuration: ConsumerConfiguration(
            client: client, groupID: options.groupID, offsetReset: options.from, reportEndOfPartition: options.stopAtEnd))
        var pipeline = try Pipeline(compiled: compiled, partitions: sourceInfo.partitions.count, now: Self.nowMs())
        // [ops] Readiness: state is restored once the pipeline is built (move after restoring a checkpoint).
        status?.setStateRestored(true)

        // Processed positions (next offset) per partition, committed after outputs are acknowledged.
        var processed: [Int32: Int64] = [:]
        // End offset reported per partition; a partition is at its end while processed >= that.
        var endOffset: [Int32: Int64] = [:]
        var assigned = Set<Int32>()
        func commitProcessed(_ only: Set<Int32>? = nil) throws {
            try producer.flush(timeout: .seconds(60))
            if producer.counts.failed > 0 {
                throw KafkaError.invalidState("\(producer.counts.failed) output records were not delivered (last error \(String(describing: producer.counts.lastError))); not committing")
            }
            let offsets = processed.filter { only?.contains($0.key) ?? true }
                .map { TopicPartitionOffset(topic: source, partition: $0.key, offset: $0.value) }
            try consumer.commit(offsets)
            metrics?.offsetsCommitted()  // [ops]
        }
        consumer.onRebalance = { event in
            switch event {
            case .assigned(let ps):
                for p in ps { assigned.insert(p.partition); endOffset.removeValue(forKey: p.partition) }
                self.status?.assign(ps.map(\.partition))  // [ops]
                self.metrics?.rebalanced(assignedCount: assigned.count)
            case .revoked(let ps), .lost(let ps):
                // Before the partitions move: flush outputs and commit what was processed.
                let revoked = Set(ps.map(\.partition))
                do { try commitProcessed(revoked) } catch { self.logger.error("commit on revoke failed: \(error)") }
                for p in revoked { assigned.remove(p); processed.removeValue(forKey: p); endOffset.removeValue(forKey: p) }
                self.status?.revoke(Array(revoked))  // [ops]
                self.metrics?.rebalanced(assignedCount: assigned.count)
            }
        }
        consumer.onEvent = { event in
            switch event {
            case .endOfPartition(let tp, let offset): endOffset[tp.partition] = offset
            case .dataLoss(let r): self.logger.error("\(r.description)")
            case .error(let e):
                self.logger.warning("\(e.description)")
                // [ops] Readiness: all brokers down makes the instance unready until the next fetch or commit.
                if case .broker(let code, _, _, _, _) = e, code == .allBrokersDown {
                    self.status?.setBrokerReachable(false, error: e.description)
                }
            case .offsetReset: break
            }
        }
        try consumer.subscribe([source])
        status?.setRunning(true)  // [ops]
        defer { status?.setRunning(false) }

        var batch = InputBatch(capacity: 4096)
        let clock = ContinuousClock()
        let start = clock.now
        var lastCommit = start
        var lastProgress = start
        var lastLag = start  // [ops]
        var events = 0
        var sawInput = false
        var firstInput: ContinuousClock.Instant?
        func processBatch() throws {
            guard batch.count > 0 else { return }
            if firstInput == nil { firstInput = clock.now }
            let began = clock.now  // [ops]
            try pipeline.process(batch, topic: source, now: Self.nowMs(), into: &sink)
            metrics?.batchProcessed(pipeline, events: batch.count, duration: clock.now - began)  // [ops]
            events += batch.count
            for i in 0..<batch.count {
                processed[batch.partitions[i]] = max(processed[batch.partitions[i]] ?? 0, batch.offsets[i] + 1)
            }
            batch.removeAll()
            sawInput = true
        }
        var failure: (any Error)?
        while !shouldStop() {
            sawInput = false
            // Bounded batches: drift decisions and retrain requests take effect within ~1k events.
            try consumer.poll(timeout: .milliseconds(100)) { m in
                guard failure == nil, let v = m.value else { return }
                batch.append(v, partition: m.partition, offset: m.offset)
                if batch.count >= 1024 {
                    do { try processBatch() } catch { failure = error }
                }
            }
            if let failure { throw failure }
            try processBatch()
            if !sawInput {
                try pipeline.tick(now: Self.nowMs(), into: &sink)
                metrics?.outputsWritten(pipeline)  // [ops]
            }
            producer.poll()
            if clock.now - lastCommit >= options.commitInterval {
                try commitProcessed()
                lastCommit = clock.now
                status?.setBrokerReachable(true)  // [ops] a commit succeeded
            }
            // [ops] Lag per partition (high watermark - next offset to process), every few seconds.
            if status != nil || metrics != nil, clock.now - lastLag >= .seconds(2) {
                lastLag = clock.now
                var lag: [Int32: Int64] = [:]
                for p in assigned {
                    guard let w = try? consumer.watermarks(TopicPartition(topic: source, partition: p), timeout: .milliseconds(500)) else { continue }
                    lag[p] = max(0, w.high - (processed[p] ?? w.low))
                }
                status?.setLag(lag)
                metrics?.setLag(lag)
            }
            if clock.now - lastProgress >= .seconds(1), let onProgress {
                onProgress(progress(pipeline, events: events, since: start, firstInput: firstInput, clock: clock))
                lastProgress = clock.now
            }
            if options.stopAtEnd && !assigned.isEmpty && !sawInput && assigned.allSatisfy({ p in
                endOffset[p].map { end in (processed[p] ?? end) >= end } ?? false
            }) { break }
            if let max = options.maxDuration, clock.now - start >= max { break }
        }
        try commitProcessed()
        onProgress?(progress(pipeline, events: events, since: start, firstInput: firstInput, clock: clock))
        consumer.close()
        // The handlers capture the consumer and producer: release them so the clients are destroyed.
        consumer.onRebalance = nil
        consumer.onEvent = nil
        producer.close()
        return pipeline
    }

    private func progress(_ p: Pipeline, events: Int, since start: ContinuousClock.Instant, firstInput: ContinuousClock.Instant?,
                          clock: ContinuousClock) -> RunProgress {
        func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18 }
        let now = clock.now
        return RunProgress(seconds: seconds(now - start), activeSeconds: firstInput.map { seconds(now - $0) } ?? 0, events: events,
                           counters: p.counters, logLoss: p.model?.prequential.logLoss, accuracy: p.model?.prequential.accuracy)
    }

    static func nowMs() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }
}
