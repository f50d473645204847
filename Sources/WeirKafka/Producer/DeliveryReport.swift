/// The broker's answer for one produced message: where it landed, or why it failed.
///
/// `id` is the value passed to ``KafkaProducer/send(to:partition:key:value:headers:timestamp:id:)``,
/// so callers can match reports to their own bookkeeping without allocating per message.
public struct DeliveryReport: Sendable {
    public var id: UInt64
    public var topic: ProducerTopic
    public var partition: Int32
    /// The offset assigned by the broker (-1 on failure).
    public var offset: Int64
    /// Nil when the message is durably written (acks=all with idempotence).
    public var error: KafkaErrorCode?
}

/// Running totals of delivery reports seen by a producer.
public struct DeliveryCounts: Sendable, Equatable {
    public var sent: UInt64 = 0
    public var delivered: UInt64 = 0
    public var failed: UInt64 = 0
    /// Messages sent whose report has not arrived yet.
    public var inFlight: UInt64 { sent - delivered - failed }
    /// The last failure's code, if any.
    public var lastError: KafkaErrorCode?
}

/// A topic a producer writes to, interned once so `send` does no name lookup.
public struct ProducerTopic: Hashable, Sendable {
    public let index: Int
    public let name: String
}
