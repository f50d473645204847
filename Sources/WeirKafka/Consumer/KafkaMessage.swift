import CRdKafka

/// A consumed message, borrowed: valid only inside the ``KafkaConsumer/poll(timeout:_:)`` closure.
///
/// Reading key, value, partition, offset or timestamp allocates nothing; the bytes point into
/// librdkafka's buffers. Copy what must outlive the closure.
public struct KafkaMessage {
    let raw: UnsafePointer<rd_kafka_message_t>
    /// Index of the topic in the consumer's topic table (see ``KafkaConsumer/topicName(at:)``).
    public let topicIndex: Int
    /// The topic name (no allocation: a reference to the consumer's interned name).
    public let topic: String
    public var partition: Int32 { raw.pointee.partition }
    public var offset: Int64 { raw.pointee.offset }

    /// The message key, or nil when the message has none.
    public var key: UnsafeRawBufferPointer? {
        guard let k = raw.pointee.key else { return nil }
        return UnsafeRawBufferPointer(start: k, count: raw.pointee.key_len)
    }

    /// The message value, or nil for a tombstone (null value). Never traps.
    public var value: UnsafeRawBufferPointer? {
        guard let p = raw.pointee.payload else { return nil }
        return UnsafeRawBufferPointer(start: p, count: raw.pointee.len)
    }

    /// The message timestamp in epoch milliseconds, if it has one.
    public var timestamp: Int64? {
        var type = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
        let ts = rd_kafka_message_timestamp(raw, &type)
        return type == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE ? nil : ts
    }

    /// The last value of header `name` (nil if absent or null). Borrowed like the value.
    public func header(_ name: String) -> UnsafeRawBufferPointer? {
        var hdrs: OpaquePointer?
        guard rd_kafka_message_headers(raw, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR, let hdrs else { return nil }
        var val: UnsafeRawPointer?
        var size = 0
        guard rd_kafka_header_get_last(hdrs, name, &val, &size) == RD_KAFKA_RESP_ERR_NO_ERROR, let val else { return nil }
        return UnsafeRawBufferPointer(start: val, count: size)
    }

    /// All headers, copied (allocates: for tests and tooling, not the hot path).
    public var headers: [KafkaHeader] {
        var hdrs: OpaquePointer?
        guard rd_kafka_message_headers(raw, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR, let hdrs else { return [] }
        var out: [KafkaHeader] = []
        var i = 0
        while true {
            var name: UnsafePointer<CChar>?
            var val: UnsafeRawPointer?
            var size = 0
            guard rd_kafka_header_get_all(hdrs, i, &name, &val, &size) == RD_KAFKA_RESP_ERR_NO_ERROR, let name else { break }
            let bytes = val.map { Array(UnsafeRawBufferPointer(start: $0, count: size)) }
            out.append(KafkaHeader(name: String(cString: name), value: bytes))
            i += 1
        }
        return out
    }
}
