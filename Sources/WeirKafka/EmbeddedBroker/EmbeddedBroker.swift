import CRdKafka

/// An in-process Kafka cluster on loopback: librdkafka's mock cluster, speaking the real Kafka
/// protocol, so any client (kcat, confluent-kafka, Weir) can connect to ``bootstrapServers``.
///
/// It supports produce/fetch, consumer groups, idempotent and transactional producers, and
/// fault injection (broker down/up, round-trip delay, request errors). Its limits are real and
/// stated in ``limitations``; design and test around them, never pretend otherwise.
///
/// Topics are created with ``createTopic(_:partitions:replicationFactor:)``; a topic a client
/// uses before that is auto-created with 4 partitions.
public final class EmbeddedBroker: @unchecked Sendable {
    private let rk: OpaquePointer
    private let cluster: OpaquePointer
    private var stopped = false
    /// `host:port,...` of the brokers, on 127.0.0.1.
    public let bootstrapServers: String
    public let brokerCount: Int

    /// What the embedded broker (librdkafka 2.0.2's mock cluster) does not do.
    public static let limitations = """
        Limits of the embedded broker (librdkafka 2.0.x's mock cluster):
        - It keeps only the newest ~5 MiB (and 100,000 batches) per partition and drops older data, like aggressive retention. Weir's consumer reports such gaps as data loss.
        - No CreateTopics, DescribeConfigs or log compaction. Weir creates topics through the mock API and ignores topic configs such as cleanup.policy=compact there.
        - Transactions are accepted but not enforced: EndTxn writes no markers, so aborted records stay visible to read_committed consumers, and offsets sent to a transaction are not stored. A second producer with the same transactional.id gets a new producer id instead of fencing the first.
        - It is in-process and in-memory: everything is gone when it stops.
        For production, point `weir run --brokers HOST:PORT` at a Kafka or Redpanda cluster.
        """

    /// Starts `brokers` mock brokers on loopback ports chosen by the OS.
    public init(brokers: Int = 1) throws(KafkaError) {
        precondition(brokers >= 1, "at least one broker")
        // A client handle owns the mock cluster's thread; it never connects anywhere itself.
        let conf = try RDConfig.make([("log_level", "3")])
        rk = try RDConfig.newClient(RD_KAFKA_PRODUCER, conf: conf)
        guard let c = rd_kafka_mock_cluster_new(rk, Int32(brokers)) else {
            rd_kafka_destroy(rk)
            throw .clientCreation(reason: "could not start the embedded broker (mock cluster)")
        }
        cluster = c
        bootstrapServers = String(cString: rd_kafka_mock_cluster_bootstraps(c))
        brokerCount = brokers
    }

    deinit { stop() }

    /// Stops every broker; connected clients see their connections close.
    public func stop() {
        guard !stopped else { return }
        stopped = true
        rd_kafka_mock_cluster_destroy(cluster)
        rd_kafka_destroy(rk)
    }

    /// Creates a topic. Creating an existing topic is an error from the mock (`topicAlreadyExists`).
    public func createTopic(_ name: String, partitions: Int32, replicationFactor: Int32 = 1) throws(KafkaError) {
        let err = rd_kafka_mock_topic_create(cluster, name, partitions, min(replicationFactor, Int32(brokerCount)))
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw .from(err, KafkaErrorContext(operation: "create topic", topic: name)) }
    }

    /// Takes broker `id` (1-based) down: its connections close and new ones are refused.
    public func setBrokerDown(_ id: Int32) throws(KafkaError) {
        try check(rd_kafka_mock_broker_set_down(cluster, id), "broker down")
    }

    /// Brings broker `id` back up.
    public func setBrokerUp(_ id: Int32) throws(KafkaError) {
        try check(rd_kafka_mock_broker_set_up(cluster, id), "broker up")
    }

    /// Adds a round-trip delay to every response of broker `id`.
    public func setRoundTripTime(broker id: Int32, milliseconds: Int) throws(KafkaError) {
        try check(rd_kafka_mock_broker_set_rtt(cluster, id, Int32(milliseconds)), "broker rtt")
    }

    /// Makes the next requests of Kafka API `apiKey` (e.g. 0 = Produce, 1 = Fetch) fail with `errors`, in order.
    public func pushRequestErrors(apiKey: Int16, errors: [KafkaErrorCode]) {
        var codes = errors.map { rd_kafka_resp_err_t($0.rawValue) }
        codes.withUnsafeMutableBufferPointer { buf in
            rd_kafka_mock_push_request_errors_array(cluster, apiKey, buf.count, buf.baseAddress)
        }
    }

    /// Delays broker `id`'s response to the next request of Kafka API `apiKey` (e.g. 14 =
    /// SyncGroup) by `milliseconds`, without an error; later requests are answered as usual.
    public func delayNextResponse(broker id: Int32, apiKey: Int16, milliseconds: Int) throws(KafkaError) {
        try check(weir_mock_push_request_error_rtt(cluster, id, apiKey, RD_KAFKA_RESP_ERR_NO_ERROR, Int32(milliseconds)),
                  "delay response")
    }

    private func check(_ err: rd_kafka_resp_err_t, _ op: String) throws(KafkaError) {
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw .from(err, KafkaErrorContext(operation: op)) }
    }
}
