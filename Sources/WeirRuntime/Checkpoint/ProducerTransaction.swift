import Logging
import WeirKafka

/// The open Kafka transaction of one transactional producer (exactly once): begun, then
/// committed with the source offsets it covers, or aborted. One instance of it is shared by every
/// writer whose records go through that producer: the single runner's coordinator, or all the
/// tasks of a partitioned instance (``TaskSet``), which stage their checkpoints into it and
/// commit them together, since a commit covers every record the producer sent.
///
/// Invariant: ``isOpen`` is true between a successful ``begin()`` and the next ``commit(_:consumer:)``
/// or ``abort()``. `initTransactions` runs once, at the first ``begin()``.
public final class ProducerTransaction {
    public let producer: KafkaProducer
    public var metrics: RuntimeMetrics?
    let logger: Logger
    public private(set) var isOpen = false
    private var initialized = false

    public init(producer: KafkaProducer, logger: Logger) {
        self.producer = producer
        self.logger = logger
    }

    /// Opens the next transaction (initializing the producer's transactions the first time).
    public func begin() throws {
        if !initialized { try producer.initTransactions() }
        initialized = true
        try producer.beginTransaction()
        isOpen = true
    }

    /// Sends `offsets` (next source offset per partition) to the transaction with `consumer`'s
    /// group metadata, then commits it: outputs, checkpoint records and offsets together.
    public func commit(_ offsets: [TopicPartitionOffset], consumer: KafkaConsumer?) throws {
        if !offsets.isEmpty, let consumer { try producer.sendOffsetsToTransaction(offsets, consumer: consumer) }
        try producer.commitTransaction()
        isOpen = false
        metrics?.transactionCommitted()
    }

    /// Aborts the open transaction, if any (its records are discarded on real clusters); a
    /// failure to abort is logged, not thrown: the caller is already failing.
    public func abort() {
        guard isOpen else { return }
        isOpen = false
        do {
            try producer.abortTransaction(timeout: .seconds(10))
            metrics?.transactionAborted()
        } catch {
            logger.warning("abort transaction failed: \(error)")
        }
    }
}
