import Foundation
import Logging
import WeirKafka

/// Reads the topology's sink topics from the beginning into a ``DashboardStore``, on a thread of
/// its own, through ``KafkaConsumer`` with a manual assignment: it joins no consumer group and
/// never commits, so it cannot disturb the topology's group, and every start rebuilds the same
/// history from the topics. An unreachable broker or a missing topic becomes a problem in the
/// store (the page's banner) and one log line per change; the reader keeps retrying.
///
/// The scores topic (one record per event) is the exception: only its newest
/// ``scoresPerPartition`` records per partition are read at start (librdkafka's logical tail
/// offset), then it follows; they are folded into per-minute figures, never kept.
///
/// With every metadata check it also measures the run's ``ConsumerLag`` (the group's committed
/// offsets on the source topic against its high watermarks) through ``LagProbe``, which never
/// joins that group.
public final class DashboardReader: @unchecked Sendable {
    /// Score records read back per partition at start.
    public static let scoresPerPartition: Int64 = 50_000
    /// librdkafka's RD_KAFKA_OFFSET_TAIL(n): n records before the end.
    static func tail(_ n: Int64) -> Int64 { -2000 - n }

    private let store: DashboardStore
    private let logger: Logger
    private let lock = NSLock()
    private var stopped = false
    private var thread: Thread?

    public init(store: DashboardStore, logger: Logger) {
        self.store = store
        self.logger = logger
    }

    public func start() {
        let t = Thread { [self] in run() }
        t.name = "weir-dashboard-reader"
        thread = t
        t.start()
    }

    public func stop() { lock.withLock { stopped = true } }
    private var isStopped: Bool { lock.withLock { stopped } }

    private func run() {
        let c = store.configuration
        let client = KafkaConfiguration(bootstrapServers: c.brokers, clientID: "weir-dashboard")
        var consumers: [String: KafkaConsumer] = [:]
        var nextCheck = Date.distantPast
        var admin: KafkaAdmin?
        var lastLogged: [String: String] = [:]
        var lagProbe: LagProbe?
        func report(_ key: String, _ message: String?) {
            store.setProblem(key, message)
            if lastLogged[key] != message {
                if let message { logger.error("\(message)") } else if lastLogged[key] != nil { logger.info("\(key): resolved") }
                lastLogged[key] = message
            }
        }
        while !isStopped {
            // Metadata every interval: finds topics that appeared, and tells whether Kafka is
            // still reachable once every topic is being read (consumers only retry quietly).
            if Date() >= nextCheck {
                nextCheck = Date().addingTimeInterval(Double(c.metadataInterval.components.seconds))
                do {
                    if admin == nil { admin = try KafkaAdmin(configuration: client) }
                    let topics = try admin!.listTopics(timeout: .seconds(5))
                    report("brokers", nil)
                    store.setProblem("kafka", nil)
                    store.setConnected(true)
                    if !c.sourceTopic.isEmpty {
                        let partitions = topics.first { $0.name == c.sourceTopic }?.partitions.map(\.id)
                        do {
                            if lagProbe == nil { lagProbe = try LagProbe(client: client, group: c.group, logger: logger) }
                            store.setLag(lagProbe!.measure(topic: c.sourceTopic, partitions: partitions, brokers: c.brokers))
                        } catch {
                            store.setLag(ConsumerLag(group: c.group, topic: c.sourceTopic, partitions: [], checkedAt: Self.nowMs(),
                                                     problem: "cannot create the lag probe: \(error)"))
                        }
                    }
                    for name in c.topics.all where consumers[name] == nil {
                        guard let t = topics.first(where: { $0.name == name }) else {
                            report("topic \(name)", "topic '\(name)' does not exist on \(c.brokers) (yet): nothing written to it so far; retrying every \(c.metadataInterval)")
                            continue
                        }
                        report("topic \(name)", nil)
                        let consumer = try KafkaConsumer(
                            configuration: ConsumerConfiguration(client: client, groupID: "weir-dashboard-\(UUID().uuidString)",
                                                                 isolation: .readCommitted),
                            logger: logger)
                        consumer.onEvent = { [store] e in
                            if case .error(let err) = e { store.setProblem("kafka", "Kafka reports: \(err)") }
                        }
                        let scores = name == c.topics.scores
                        let start = scores ? Self.tail(Self.scoresPerPartition) : TopicPartitionOffset.beginning
                        try consumer.assign(t.partitions.map { TopicPartitionOffset(topic: name, partition: $0.id, offset: start) })
                        consumers[name] = consumer
                        logger.info("reading \(name) from \(scores ? "its newest \(Self.scoresPerPartition) records per partition" : "the beginning") (\(t.partitions.count) partitions)")
                    }
                } catch {
                    store.setConnected(false)
                    store.setLag(ConsumerLag(group: c.group, topic: c.sourceTopic, partitions: [], checkedAt: Self.nowMs(),
                                             problem: "Kafka at \(c.brokers) cannot be reached"))
                    report("brokers", "cannot reach Kafka at \(c.brokers): \(error); retrying every \(c.metadataInterval)")
                }
            }
            if consumers.isEmpty {
                Thread.sleep(forTimeInterval: 0.2)
                continue
            }
            var got = 0
            for (name, consumer) in consumers.sorted(by: { $0.key < $1.key }) {
                do {
                    got += try consumer.poll(timeout: .milliseconds(consumers.count > 1 ? 20 : 100)) { m in
                        guard let v = m.value else { return }
                        store.ingest(json: Data(v), topic: name, kafkaTimestamp: m.timestamp)
                    }
                } catch {
                    report("topic \(name)", "reading '\(name)' failed: \(error)")
                }
            }
            if got > 0 { store.setProblem("kafka", nil) }
        }
        for consumer in consumers.values { consumer.close() }
        lagProbe?.close()
    }

    static func nowMs() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }
}

/// Measures a consumer group's ``ConsumerLag`` without joining it: a ``KafkaConsumer`` with the
/// group's id that never subscribes nor is assigned anything only sends OffsetFetch requests
/// (`committed`), so the group's members, generation and offsets are untouched; the high
/// watermarks come from the consumer's query client (no group). Cost per measurement: one
/// OffsetFetch and one ListOffsets per partition (milliseconds on a local broker).
final class LagProbe {
    private let consumer: KafkaConsumer
    let group: String

    init(client: KafkaConfiguration, group: String, logger: Logger) throws {
        self.group = group
        consumer = try KafkaConsumer(configuration: ConsumerConfiguration(client: client, groupID: group, isolation: .readCommitted),
                                     logger: logger)
    }

    /// The lag now; `partitions` nil: the topic does not exist (a problem, not a crash).
    func measure(topic: String, partitions: [Int32]?, brokers: String, timeout: Duration = .seconds(3)) -> ConsumerLag {
        let now = DashboardReader.nowMs()
        guard let partitions else {
            return ConsumerLag(group: group, topic: topic, partitions: [], checkedAt: now,
                               problem: "source topic '\(topic)' does not exist on \(brokers) (yet)")
        }
        do {
            let tps = partitions.sorted().map { TopicPartition(topic: topic, partition: $0) }
            let committed = try consumer.committed(tps, timeout: timeout)
            var out: [ConsumerLag.Partition] = []
            for tp in tps {
                let high = try consumer.watermarks(tp, timeout: timeout).high
                let c = committed.first { $0.partition == tp.partition && $0.offset >= 0 }?.offset
                out.append(ConsumerLag.Partition(partition: tp.partition, committed: c, high: high))
            }
            return ConsumerLag(group: group, topic: topic, partitions: out, checkedAt: now)
        } catch {
            return ConsumerLag(group: group, topic: topic, partitions: [], checkedAt: now,
                               problem: "cannot read the offsets of group '\(group)' on '\(topic)': \(error)")
        }
    }

    func close() { consumer.close(leaveTimeout: .seconds(1)) }
}
