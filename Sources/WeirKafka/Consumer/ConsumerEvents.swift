/// A change of this consumer's partitions, reported **before** librdkafka applies it.
///
/// When the handler returns `.revoked`, the partitions are still assigned: the handler can
/// flush state and commit their offsets synchronously, so the next owner starts exactly there.
public enum RebalanceEvent: Sendable, Equatable {
    case assigned([TopicPartition])
    case revoked([TopicPartition])
    /// The partitions were lost (session timeout, fenced member): committing for them will fail.
    case lost([TopicPartition])
}

/// Things a consumer reports besides messages.
public enum ConsumerEvent: Sendable, Equatable {
    /// Every message of the partition up to `offset` (exclusive) has been delivered.
    case endOfPartition(TopicPartition, offset: Int64)
    /// Retention deleted records before they were read. The reset policy has been applied
    /// (unless it is `.fail`, in which case `poll` throws).
    case dataLoss(DataLossReport)
    /// The position was reset by the policy: no committed offset (`from` nil; `to` is then the
    /// logical ``TopicPartitionOffset/beginning`` or ``TopicPartitionOffset/end``), or a position
    /// past the end (`to` the offset the policy chose).
    case offsetReset(TopicPartition, from: Int64?, to: Int64)
    /// A non-fatal error (broker down, transport failure, ...). librdkafka retries on its own.
    case error(KafkaError)
}

/// Running totals for a consumer.
public struct ConsumerCounters: Sendable, Equatable {
    public var messages: UInt64 = 0
    /// Value bytes of the messages delivered (the fetch waker's average message size).
    public var bytes: UInt64 = 0
    public var rebalances: UInt64 = 0
    public var dataLossEvents: UInt64 = 0
    /// Offsets skipped because retention deleted them before they were read.
    public var skippedOffsets: Int64 = 0
}
