import CRdKafka

/// A topic to create.
public struct NewTopic: Sendable, Hashable {
    public var name: String
    public var partitions: Int32
    public var replicationFactor: Int32
    /// Topic configs, e.g. `["cleanup.policy": "compact"]`.
    public var configs: [String: String]
    public init(name: String, partitions: Int32 = 1, replicationFactor: Int32 = 1, configs: [String: String] = [:]) {
        self.name = name
        self.partitions = partitions
        self.replicationFactor = replicationFactor
        self.configs = configs
    }
}

/// What happened to one topic of a ``KafkaAdmin/createTopics(_:timeout:)`` call.
public enum TopicCreationOutcome: Sendable, Hashable {
    case created
    case alreadyExists
    /// Created, but the embedded broker cannot apply these configs (it has no compaction or retention settings).
    case createdIgnoringConfigs([String])
}

/// A topic as the cluster describes it.
public struct TopicDescription: Sendable, Hashable {
    public var name: String
    public var partitions: [PartitionDescription]
}

public struct PartitionDescription: Sendable, Hashable {
    public var id: Int32
    public var leader: Int32
    public var replicas: [Int32]
}

/// Topic administration: create, list, describe.
///
/// On a real cluster it uses librdkafka's Admin API. Against the ``EmbeddedBroker`` (pass it to
/// `init`), topics are created through the mock cluster's API, because the mock implements
/// neither CreateTopics nor DescribeConfigs; those requests fail fast with
/// ``KafkaError/unsupportedByEmbeddedBroker(operation:)`` instead of hanging.
public final class KafkaAdmin: @unchecked Sendable {
    let rk: OpaquePointer
    private let embedded: EmbeddedBroker?

    public init(configuration: KafkaConfiguration, embeddedBroker: EmbeddedBroker? = nil) throws(KafkaError) {
        let conf = try RDConfig.make(configuration.librdkafkaProperties)
        self.rk = try RDConfig.newClient(RD_KAFKA_PRODUCER, conf: conf)
        self.embedded = embeddedBroker
    }

    deinit { rd_kafka_destroy(rk) }

    /// Creates topics; existing ones are reported as `.alreadyExists`, not as errors.
    public func createTopics(_ topics: [NewTopic], timeout: Duration = .seconds(30)) throws(KafkaError) -> [String: TopicCreationOutcome] {
        if let embedded {
            var out: [String: TopicCreationOutcome] = [:]
            let existing = Set(try listTopics(timeout: timeout).map(\.name))
            for t in topics {
                if existing.contains(t.name) { out[t.name] = .alreadyExists; continue }
                try embedded.createTopic(t.name, partitions: t.partitions, replicationFactor: t.replicationFactor)
                out[t.name] = t.configs.isEmpty ? .created : .createdIgnoringConfigs(t.configs.keys.sorted())
            }
            return out
        }
        // A standalone librdkafka mock cluster (`weir broker`, the benchmark broker) has no
        // CreateTopics: librdkafka would wait for the whole timeout. Say so at once instead.
        if isMockCluster(timeout: timeout) { throw .unsupportedByEmbeddedBroker(operation: "CreateTopics") }
        return try createTopicsOnCluster(topics, timeout: timeout)
    }

    /// Whether the cluster is librdkafka's mock cluster (its cluster id is `mockCluster<hex>`).
    public func isMockCluster(timeout: Duration = .seconds(5)) -> Bool {
        guard let id = rd_kafka_clusterid(rk, Int32(timeout.milliseconds)) else { return false }
        defer { rd_kafka_mem_free(rk, id) }
        return String(cString: id).hasPrefix("mockCluster")
    }

    private func createTopicsOnCluster(_ topics: [NewTopic], timeout: Duration) throws(KafkaError) -> [String: TopicCreationOutcome] {
        var errbuf = [CChar](repeating: 0, count: 512)
        var handles: [OpaquePointer?] = []
        defer { for h in handles { rd_kafka_NewTopic_destroy(h) } }
        for t in topics {
            guard let nt = rd_kafka_NewTopic_new(t.name, t.partitions, t.replicationFactor, &errbuf, errbuf.count) else {
                throw .invalidState("topic \(t.name): \(errbuf.cText)")
            }
            handles.append(nt)
            for (k, v) in t.configs.sorted(by: { $0.key < $1.key }) {
                let err = rd_kafka_NewTopic_set_config(nt, k, v)
                if err != RD_KAFKA_RESP_ERR_NO_ERROR {
                    throw .invalidConfiguration(property: k, value: v, reason: String(cString: rd_kafka_err2str(err)))
                }
            }
        }
        let queue = rd_kafka_queue_new(rk)
        defer { rd_kafka_queue_destroy(queue) }
        let options = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS)
        defer { rd_kafka_AdminOptions_destroy(options) }
        _ = rd_kafka_AdminOptions_set_request_timeout(options, Int32(timeout.milliseconds), &errbuf, errbuf.count)
        handles.withUnsafeMutableBufferPointer { buf in
            rd_kafka_CreateTopics(rk, buf.baseAddress, buf.count, options, queue)
        }
        guard let event = rd_kafka_queue_poll(queue, Int32(timeout.milliseconds) + 1000) else {
            throw .timedOut(operation: "CreateTopics", after: timeout)
        }
        defer { rd_kafka_event_destroy(event) }
        let err = rd_kafka_event_error(event)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR {
            throw .broker(code: KafkaErrorCode(rawValue: err.rawValue), message: String(cString: rd_kafka_event_error_string(event)),
                          context: KafkaErrorContext(operation: "CreateTopics"), isFatal: false, isRetriable: true)
        }
        var out: [String: TopicCreationOutcome] = [:]
        var n = 0
        let result = rd_kafka_event_CreateTopics_result(event)
        guard let results = rd_kafka_CreateTopics_result_topics(result, &n) else { return out }
        for i in 0..<n {
            let r = results[i]
            let name = String(cString: rd_kafka_topic_result_name(r))
            let e = rd_kafka_topic_result_error(r)
            if e == RD_KAFKA_RESP_ERR_NO_ERROR {
                out[name] = .created
            } else if e == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS {
                out[name] = .alreadyExists
            } else {
                let msg = rd_kafka_topic_result_error_string(r).map { String(cString: $0) } ?? ""
                throw .broker(code: KafkaErrorCode(rawValue: e.rawValue), message: msg,
                              context: KafkaErrorContext(operation: "CreateTopics", topic: name), isFatal: false, isRetriable: false)
            }
        }
        return out
    }

    /// Every topic in the cluster with its partitions (from a Metadata request).
    public func listTopics(timeout: Duration = .seconds(10)) throws(KafkaError) -> [TopicDescription] {
        var md: UnsafePointer<rd_kafka_metadata>?
        let err = rd_kafka_metadata(rk, 1, nil, &md, Int32(timeout.milliseconds))
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR, let md else { throw .from(err, KafkaErrorContext(operation: "metadata")) }
        defer { rd_kafka_metadata_destroy(md) }
        var out: [TopicDescription] = []
        for i in 0..<Int(md.pointee.topic_cnt) {
            let t = md.pointee.topics[i]
            if t.err != RD_KAFKA_RESP_ERR_NO_ERROR { continue }
            var parts: [PartitionDescription] = []
            for j in 0..<Int(t.partition_cnt) {
                let p = t.partitions[j]
                let replicas = (0..<Int(p.replica_cnt)).map { p.replicas[$0] }
                parts.append(PartitionDescription(id: p.id, leader: p.leader, replicas: replicas))
            }
            out.append(TopicDescription(name: String(cString: t.topic), partitions: parts.sorted { $0.id < $1.id }))
        }
        return out.sorted { $0.name < $1.name }
    }

    /// One topic's description, or nil if it does not exist.
    public func describeTopic(_ name: String, timeout: Duration = .seconds(10)) throws(KafkaError) -> TopicDescription? {
        try listTopics(timeout: timeout).first { $0.name == name }
    }

    /// A topic's configuration entries (DescribeConfigs).
    /// - Throws: ``KafkaError/unsupportedByEmbeddedBroker(operation:)`` on the embedded broker.
    public func describeTopicConfigs(_ name: String, timeout: Duration = .seconds(10)) throws(KafkaError) -> [String: String] {
        if embedded != nil { throw .unsupportedByEmbeddedBroker(operation: "DescribeConfigs") }
        let resource = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, name)
        defer { rd_kafka_ConfigResource_destroy(resource) }
        let queue = rd_kafka_queue_new(rk)
        defer { rd_kafka_queue_destroy(queue) }
        let options = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS)
        defer { rd_kafka_AdminOptions_destroy(options) }
        var errbuf = [CChar](repeating: 0, count: 512)
        _ = rd_kafka_AdminOptions_set_request_timeout(options, Int32(timeout.milliseconds), &errbuf, errbuf.count)
        var resources: [OpaquePointer?] = [resource]
        resources.withUnsafeMutableBufferPointer { rd_kafka_DescribeConfigs(rk, $0.baseAddress, 1, options, queue) }
        guard let event = rd_kafka_queue_poll(queue, Int32(timeout.milliseconds) + 1000) else {
            throw .timedOut(operation: "DescribeConfigs", after: timeout)
        }
        defer { rd_kafka_event_destroy(event) }
        let err = rd_kafka_event_error(event)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw .from(err, KafkaErrorContext(operation: "DescribeConfigs", topic: name)) }
        var out: [String: String] = [:]
        var n = 0
        guard let res = rd_kafka_DescribeConfigs_result_resources(rd_kafka_event_DescribeConfigs_result(event), &n), n > 0 else {
            return out
        }
        var cnt = 0
        if let entries = rd_kafka_ConfigResource_configs(res[0], &cnt) {
            for i in 0..<cnt {
                let e = entries[i]
                let k = String(cString: rd_kafka_ConfigEntry_name(e))
                out[k] = rd_kafka_ConfigEntry_value(e).map { String(cString: $0) } ?? ""
            }
        }
        return out
    }
}
