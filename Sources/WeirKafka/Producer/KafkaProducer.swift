import CRdKafka
import Logging

/// A Kafka producer over librdkafka.
///
/// - Idempotent by default: retries after broker faults neither lose, duplicate nor reorder.
/// - `send` never drops a message: when librdkafka's queue is full it serves delivery reports
///   and waits until there is room.
/// - Delivery reports are served on the thread that calls ``poll(timeout:)``, ``send(to:partition:key:value:headers:timestamp:id:)``
///   or ``flush(timeout:)``; the handler runs there, synchronously.
///
/// Thread-safety: use one producer from one thread at a time (the engine's output loop).
/// It is `@unchecked Sendable` so it can be handed to that thread; librdkafka's handle
/// itself is thread-safe, the Swift bookkeeping is not.
public final class KafkaProducer: @unchecked Sendable {
    let rk: OpaquePointer
    let configuration: ProducerConfiguration
    private let state: DeliveryState
    private var topics: [OpaquePointer] = []
    private var topicNames: [String] = []
    private var closed = false
    let logger: Logger

    /// Called for each delivery report, on the polling thread. Set before sending.
    public var onDelivery: ((DeliveryReport) -> Void)? {
        get { state.handler }
        set { state.handler = newValue }
    }

    /// Totals of sent, delivered and failed messages.
    public var counts: DeliveryCounts { state.counts }

    public init(configuration: ProducerConfiguration, logger: Logger = Logger(label: "weir.kafka.producer")) throws(KafkaError) {
        self.configuration = configuration
        self.logger = logger
        let state = DeliveryState()
        self.state = state
        let conf = try RDConfig.make(configuration.librdkafkaProperties)
        rd_kafka_conf_set_dr_msg_cb(conf, deliveryCallback)
        // Safe: `state` is retained by this producer and outlives `rk` (destroyed first in deinit).
        rd_kafka_conf_set_opaque(conf, Unmanaged.passUnretained(state).toOpaque())
        self.rk = try RDConfig.newClient(RD_KAFKA_PRODUCER, conf: conf)
        state.producerTopics = { [unowned self] rkt in self.topicFor(rkt) }
    }

    deinit {
        for t in topics { rd_kafka_topic_destroy(t) }
        rd_kafka_destroy(rk)
    }

    /// Interns a topic for sending. Cheap to call repeatedly with the same name.
    public func topic(_ name: String) throws(KafkaError) -> ProducerTopic {
        if let i = topicNames.firstIndex(of: name) { return ProducerTopic(index: i, name: name) }
        guard let rkt = rd_kafka_topic_new(rk, name, nil) else {
            throw .from(rd_kafka_last_error(), KafkaErrorContext(operation: "topic", topic: name))
        }
        topics.append(rkt)
        topicNames.append(name)
        return ProducerTopic(index: topics.count - 1, name: name)
    }

    func topicFor(_ rkt: OpaquePointer?) -> ProducerTopic {
        if let rkt, let i = topics.firstIndex(of: rkt) { return ProducerTopic(index: i, name: topicNames[i]) }
        return ProducerTopic(index: -1, name: "")
    }

    /// Sends one message. The bytes are copied; the call returns once librdkafka queued it.
    ///
    /// - Parameters:
    ///   - partition: nil lets the partitioner choose (by key hash).
    ///   - value: nil sends a tombstone.
    ///   - timestamp: epoch milliseconds; nil uses the current time.
    ///   - id: echoed in the ``DeliveryReport``.
    /// - Throws: ``KafkaError`` for a non-retriable local error (e.g. message too large, fatal producer error).
    /// - Complexity: no heap allocation on the Swift side when `headers` is empty.
    public func send(
        to topic: ProducerTopic,
        partition: Int32? = nil,
        key: UnsafeRawBufferPointer?,
        value: UnsafeRawBufferPointer?,
        headers: [KafkaHeader] = [],
        timestamp: Int64? = nil,
        id: UInt64 = 0
    ) throws(KafkaError) {
        try produce(to: topic, partition: partition, key: key, value: value, headerCount: headers.count, timestamp: timestamp, id: id) { vus, n in
            headers.isEmpty ? rd_kafka_produceva(rk, vus.baseAddress, n) : withHeaderVUs(headers, 0, vus, n)
        }
    }

    /// ``send(to:partition:key:value:headers:timestamp:id:)`` with the headers of a
    /// ``HeaderBlock``: no heap allocation on the Swift side.
    public func send(
        to topic: ProducerTopic,
        partition: Int32? = nil,
        key: UnsafeRawBufferPointer?,
        value: UnsafeRawBufferPointer?,
        headers: HeaderBlock,
        timestamp: Int64? = nil,
        id: UInt64 = 0
    ) throws(KafkaError) {
        try produce(to: topic, partition: partition, key: key, value: value, headerCount: headers.count, timestamp: timestamp, id: id) { vus, n in
            var n = n
            for i in 0..<headers.count {
                var v = rd_kafka_vu_t()
                v.vtype = RD_KAFKA_VTYPE_HEADER
                v.u.header.name = headers.name(i)
                let value = headers.value(i)
                v.u.header.val = value.baseAddress
                v.u.header.size = value.count
                (vus.baseAddress! + n).initialize(to: v)
                n += 1
            }
            // librdkafka copies each header (rd_kafka_header_add) before returning.
            return withExtendedLifetime(headers) { rd_kafka_produceva(rk, vus.baseAddress, n) }
        }
    }

    /// One produce call: the record's fixed fields, then `headersAndProduce` adds `headerCount`
    /// header entries after the first `n` and calls `rd_kafka_produceva`. Retries while the local
    /// queue is full (serving delivery reports); never drops.
    private func produce(
        to topic: ProducerTopic, partition: Int32?, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?,
        headerCount: Int, timestamp: Int64?, id: UInt64,
        _ headersAndProduce: (UnsafeMutableBufferPointer<rd_kafka_vu_t>, Int) -> OpaquePointer?
    ) throws(KafkaError) {
        guard !closed else { throw .invalidState("send on a closed producer") }
        guard topic.index >= 0, topic.index < topics.count else { throw .invalidState("unknown producer topic \(topic.name)") }
        let rkt = topics[topic.index]
        while true {
            let error: OpaquePointer? = withUnsafeTemporaryAllocation(of: rd_kafka_vu_t.self, capacity: 7 + headerCount) { vus in
                var n = 0
                func put(_ t: rd_kafka_vtype_t, _ fill: (inout rd_kafka_vu_t) -> Void) {
                    var v = rd_kafka_vu_t()
                    v.vtype = t
                    fill(&v)
                    (vus.baseAddress! + n).initialize(to: v)
                    n += 1
                }
                put(RD_KAFKA_VTYPE_RKT) { $0.u.rkt = rkt }
                put(RD_KAFKA_VTYPE_PARTITION) { $0.u.i32 = partition ?? RD_KAFKA_PARTITION_UA }
                put(RD_KAFKA_VTYPE_MSGFLAGS) { $0.u.i = RD_KAFKA_MSG_F_COPY }
                if let key { put(RD_KAFKA_VTYPE_KEY) { $0.u.mem.ptr = UnsafeMutableRawPointer(mutating: key.baseAddress); $0.u.mem.size = key.count } }
                if let value {
                    put(RD_KAFKA_VTYPE_VALUE) { $0.u.mem.ptr = UnsafeMutableRawPointer(mutating: value.baseAddress); $0.u.mem.size = value.count }
                }
                if let timestamp { put(RD_KAFKA_VTYPE_TIMESTAMP) { $0.u.i64 = timestamp } }
                put(RD_KAFKA_VTYPE_OPAQUE) { $0.u.ptr = UnsafeMutableRawPointer(bitPattern: UInt(id &+ 1)) }
                return headersAndProduce(vus, n)
            }
            guard let error else {
                state.counts.sent &+= 1
                return
            }
            let code = rd_kafka_error_code(error)
            if code == RD_KAFKA_RESP_ERR__QUEUE_FULL {
                rd_kafka_error_destroy(error)
                // Never drop: serve delivery reports until there is room.
                rd_kafka_poll(rk, 50)
                continue
            }
            // After a fatal error (e.g. fenced) every produce fails with a generic "previous fatal
            // error": report that error itself, typed (``fatalError``).
            if rd_kafka_error_is_fatal(error) != 0, let fatal = fatalError {
                rd_kafka_error_destroy(error)
                throw fatal
            }
            throw KafkaError.consume(error, KafkaErrorContext(operation: "produce", topic: topic.name, partition: partition))
        }
    }

    /// Header name C strings must stay alive for the produce call: nest `withCString` per header.
    private func withHeaderVUs(
        _ headers: [KafkaHeader], _ i: Int, _ vus: UnsafeMutableBufferPointer<rd_kafka_vu_t>, _ n: Int
    ) -> OpaquePointer? {
        if i == headers.count { return rd_kafka_produceva(rk, vus.baseAddress, n) }
        let h = headers[i]
        return h.name.withCString { name in
            func go(_ val: UnsafeRawBufferPointer?) -> OpaquePointer? {
                var v = rd_kafka_vu_t()
                v.vtype = RD_KAFKA_VTYPE_HEADER
                v.u.header.name = name
                v.u.header.val = val?.baseAddress
                v.u.header.size = val.map { $0.count } ?? -1
                (vus.baseAddress! + n).initialize(to: v)
                return withHeaderVUs(headers, i + 1, vus, n + 1)
            }
            if let value = h.value { return value.withUnsafeBytes { go($0) } }
            return go(nil)
        }
    }

    /// Convenience: send byte arrays.
    public func send(
        to topic: ProducerTopic, partition: Int32? = nil, key: [UInt8]?, value: [UInt8]?,
        headers: [KafkaHeader] = [], timestamp: Int64? = nil, id: UInt64 = 0
    ) throws(KafkaError) {
        try withOptionalBytes(key) { (k) throws(KafkaError) in
            try withOptionalBytes(value) { (v) throws(KafkaError) in
                try send(to: topic, partition: partition, key: k, value: v, headers: headers, timestamp: timestamp, id: id)
            }
        }
    }

    /// Serves queued delivery reports, waiting at most `timeout` for the first. Returns how many were served.
    @discardableResult
    public func poll(timeout: Duration = .zero) -> Int {
        Int(rd_kafka_poll(rk, Int32(timeout.milliseconds)))
    }

    /// Waits until every sent message has a delivery report.
    /// - Throws: ``KafkaError/timedOut(operation:after:)`` if some are still in flight after `timeout`.
    public func flush(timeout: Duration = .seconds(30)) throws(KafkaError) {
        let err = rd_kafka_flush(rk, Int32(timeout.milliseconds))
        if err == RD_KAFKA_RESP_ERR__TIMED_OUT { throw .timedOut(operation: "flush (\(state.counts.inFlight) in flight)", after: timeout) }
        // Reports queued by the flush itself.
        rd_kafka_poll(rk, 0)
    }

    /// A fatal producer error (e.g. fenced), if librdkafka raised one.
    public var fatalError: KafkaError? {
        var buf = [CChar](repeating: 0, count: 512)
        let err = rd_kafka_fatal_error(rk, &buf, buf.count)
        guard err != RD_KAFKA_RESP_ERR_NO_ERROR else { return nil }
        let code = KafkaErrorCode(rawValue: err.rawValue)
        if code.isFencing, let id = configuration.transactionalID { return .fenced(transactionalID: id, message: buf.cText) }
        return .broker(code: code, message: buf.cText, context: KafkaErrorContext(operation: "producer"),
                       isFatal: true, isRetriable: false)
    }

    /// ``flush(timeout:)`` in steps of a millisecond, calling `whileWaiting` on this thread
    /// between them: the caller's other work (serving requests) goes on while the outputs are
    /// acknowledged. Nil: ``flush(timeout:)``.
    public func flush(timeout: Duration = .seconds(30), whileWaiting: (() -> Void)?) throws(KafkaError) {
        guard let whileWaiting else { return try flush(timeout: timeout) }
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while rd_kafka_flush(rk, 1) == RD_KAFKA_RESP_ERR__TIMED_OUT {
            if clock.now >= deadline { throw .timedOut(operation: "flush (\(state.counts.inFlight) in flight)", after: timeout) }
            whileWaiting()
        }
        rd_kafka_poll(rk, 0)
    }

    /// Flushes (bounded by `timeout`) and stops accepting messages.
    public func close(timeout: Duration = .seconds(10)) {
        guard !closed else { return }
        closed = true
        _ = rd_kafka_flush(rk, Int32(timeout.milliseconds))
        rd_kafka_poll(rk, 0)
    }
}

/// Delivery bookkeeping reached from librdkafka's C callback through the client opaque.
final class DeliveryState {
    var counts = DeliveryCounts()
    var handler: ((DeliveryReport) -> Void)?
    var producerTopics: ((OpaquePointer?) -> ProducerTopic)?
}

private func deliveryCallback(
    _ rk: OpaquePointer?, _ msg: UnsafePointer<rd_kafka_message_t>?, _ opaque: UnsafeMutableRawPointer?
) {
    guard let msg, let opaque else { return }
    let state = Unmanaged<DeliveryState>.fromOpaque(opaque).takeUnretainedValue()
    let m = msg.pointee
    if m.err == RD_KAFKA_RESP_ERR_NO_ERROR {
        state.counts.delivered &+= 1
    } else {
        state.counts.failed &+= 1
        state.counts.lastError = KafkaErrorCode(rawValue: m.err.rawValue)
    }
    if let handler = state.handler {
        let id = UInt64(UInt(bitPattern: m._private)) &- 1
        handler(DeliveryReport(
            id: id, topic: state.producerTopics?(m.rkt) ?? ProducerTopic(index: -1, name: ""),
            partition: m.partition, offset: m.offset,
            error: m.err == RD_KAFKA_RESP_ERR_NO_ERROR ? nil : KafkaErrorCode(rawValue: m.err.rawValue)))
    }
}

func withOptionalBytes<R>(
    _ bytes: [UInt8]?, _ body: (UnsafeRawBufferPointer?) throws(KafkaError) -> R
) throws(KafkaError) -> R {
    guard let bytes else { return try body(nil) }
    // withUnsafeBytes is rethrows over `any Error`; recover the typed error.
    do {
        return try bytes.withUnsafeBytes { try body($0) }
    } catch let e as KafkaError {
        throw e
    } catch {
        throw .invalidState("unexpected error \(error)")
    }
}

extension Duration {
    /// Whole milliseconds, saturating at Int32.max for librdkafka's `int timeout_ms`.
    var milliseconds: Int {
        let (s, atto) = components
        let ms = s * 1000 + atto / 1_000_000_000_000_000
        return Int(min(ms, Int64(Int32.max)))
    }
}
