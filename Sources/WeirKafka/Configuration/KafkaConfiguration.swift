/// Settings every Kafka client shares: where the cluster is, who we are, how we authenticate.
///
/// Any librdkafka property can be set by name in `properties`; it is validated by librdkafka
/// when the client is created, and a bad name or value is a ``KafkaError/invalidConfiguration(property:value:reason:)``.
/// Secrets (SASL passwords, key material) are never included in `description`.
public struct KafkaConfiguration: Sendable, CustomStringConvertible {
    /// `host:port[,host:port...]` (librdkafka `bootstrap.servers`).
    public var bootstrapServers: String
    /// librdkafka `client.id`.
    public var clientID: String
    /// `security.protocol`: plaintext, ssl, sasl_plaintext, sasl_ssl. Nil leaves librdkafka's default.
    public var securityProtocol: String?
    /// SASL settings (mechanism, username, password), passed through to librdkafka.
    public var sasl: SASL?
    /// SSL properties passed through verbatim (e.g. `ssl.ca.location`), keys without the `ssl.` prefix allowed.
    public var ssl: [String: String]
    /// Any other librdkafka property by name. Applied last, so it overrides the typed fields.
    public var properties: [String: String]

    public struct SASL: Sendable {
        public var mechanism: String
        public var username: String
        public var password: String
        public init(mechanism: String = "PLAIN", username: String, password: String) {
            self.mechanism = mechanism
            self.username = username
            self.password = password
        }
    }

    public init(
        bootstrapServers: String,
        clientID: String = "weir",
        securityProtocol: String? = nil,
        sasl: SASL? = nil,
        ssl: [String: String] = [:],
        properties: [String: String] = [:]
    ) {
        self.bootstrapServers = bootstrapServers
        self.clientID = clientID
        self.securityProtocol = securityProtocol
        self.sasl = sasl
        self.ssl = ssl
        self.properties = properties
    }

    /// The librdkafka properties this configuration sets, in the order they are applied.
    public var librdkafkaProperties: [(String, String)] {
        var out: [(String, String)] = [("bootstrap.servers", bootstrapServers), ("client.id", clientID)]
        if let securityProtocol { out.append(("security.protocol", securityProtocol)) }
        if let sasl {
            out.append(("sasl.mechanisms", sasl.mechanism))
            out.append(("sasl.username", sasl.username))
            out.append(("sasl.password", sasl.password))
        }
        for (k, v) in ssl.sorted(by: { $0.key < $1.key }) {
            out.append((k.hasPrefix("ssl.") ? k : "ssl." + k, v))
        }
        for (k, v) in properties.sorted(by: { $0.key < $1.key }) { out.append((k, v)) }
        return out
    }

    /// The properties with every secret replaced by `<redacted>`: safe to log.
    public var description: String {
        librdkafkaProperties.map { "\($0.0)=\(redactIfSecret($0.0, $0.1))" }.joined(separator: " ")
    }
}

/// Producer settings. Idempotence is on by default: retries never duplicate or reorder.
public struct ProducerConfiguration: Sendable {
    public var client: KafkaConfiguration
    /// `enable.idempotence`. Default true.
    public var idempotence: Bool
    /// `transactional.id`; set it to use transactions (implies idempotence).
    public var transactionalID: String?
    /// `linger.ms`: how long to wait to fill a batch. Default 5.
    public var lingerMs: Int
    /// `batch.num.messages`. Default 10,000.
    public var batchMessages: Int
    /// `queue.buffering.max.messages`: producer queue capacity. When full, `send` waits, never drops.
    public var queueCapacity: Int
    /// `message.timeout.ms`: how long a message may take to be delivered, retries included.
    public var deliveryTimeoutMs: Int
    /// `compression.codec` (none, gzip, snappy, lz4, zstd). Default none.
    public var compression: String

    public init(
        client: KafkaConfiguration,
        idempotence: Bool = true,
        transactionalID: String? = nil,
        lingerMs: Int = 5,
        batchMessages: Int = 10_000,
        queueCapacity: Int = 500_000,
        deliveryTimeoutMs: Int = 120_000,
        compression: String = "none"
    ) {
        self.client = client
        self.idempotence = idempotence
        self.transactionalID = transactionalID
        self.lingerMs = lingerMs
        self.batchMessages = batchMessages
        self.queueCapacity = queueCapacity
        self.deliveryTimeoutMs = deliveryTimeoutMs
        self.compression = compression
    }

    var librdkafkaProperties: [(String, String)] {
        var out: [(String, String)] = [
            ("enable.idempotence", (idempotence || transactionalID != nil) ? "true" : "false"),
            ("linger.ms", String(lingerMs)),
            ("batch.num.messages", String(batchMessages)),
            ("queue.buffering.max.messages", String(queueCapacity)),
            ("message.timeout.ms", String(deliveryTimeoutMs)),
            ("compression.codec", compression),
        ]
        if let transactionalID {
            out.append(("transactional.id", transactionalID))
            // librdkafka requires message.timeout.ms <= transaction.timeout.ms.
            out.append(("transaction.timeout.ms", String(max(60_000, deliveryTimeoutMs))))
        }
        // The client's own properties come last so users can override anything.
        return out + client.librdkafkaProperties
    }
}

/// What a consumer does when its position is not available on the broker: no committed offset
/// (a new group), or the records at the position were deleted by retention.
public enum OffsetResetPolicy: String, Sendable, CaseIterable {
    /// Start from the first available record. Skipped records are reported, never silent.
    case earliest
    /// Start from the end.
    case latest
    /// Stop with ``KafkaError/dataLoss(_:)`` (a new group with no committed offset starts at the earliest).
    case fail
}

/// `isolation.level`.
public enum IsolationLevel: String, Sendable {
    case readCommitted = "read_committed"
    case readUncommitted = "read_uncommitted"
}

/// Consumer settings. Auto-commit is off: offsets are stored and committed by the caller
/// after the outputs they caused are safe.
public struct ConsumerConfiguration: Sendable {
    public var client: KafkaConfiguration
    /// `group.id`.
    public var groupID: String
    public var offsetReset: OffsetResetPolicy
    public var isolation: IsolationLevel
    /// Report ``ConsumerEvent/endOfPartition(_:offset:)`` when a partition is read to its end.
    public var reportEndOfPartition: Bool
    /// `session.timeout.ms`.
    public var sessionTimeoutMs: Int
    /// `partition.assignment.strategy`. Default `cooperative-sticky`: a rebalance only moves the
    /// partitions that change owner, so the others keep their state and keep flowing.
    public var assignmentStrategy: String?
    /// `max.poll.interval.ms`.
    public var maxPollIntervalMs: Int

    public init(
        client: KafkaConfiguration,
        groupID: String,
        offsetReset: OffsetResetPolicy = .earliest,
        isolation: IsolationLevel = .readCommitted,
        reportEndOfPartition: Bool = false,
        sessionTimeoutMs: Int = 10_000,
        assignmentStrategy: String? = "cooperative-sticky",
        maxPollIntervalMs: Int = 300_000
    ) {
        self.client = client
        self.groupID = groupID
        self.offsetReset = offsetReset
        self.isolation = isolation
        self.reportEndOfPartition = reportEndOfPartition
        self.sessionTimeoutMs = sessionTimeoutMs
        self.assignmentStrategy = assignmentStrategy
        self.maxPollIntervalMs = maxPollIntervalMs
    }

    var librdkafkaProperties: [(String, String)] {
        var out: [(String, String)] = [
            ("group.id", groupID),
            ("enable.auto.commit", "false"),
            ("enable.auto.offset.store", "false"),
            // Weir resolves resets itself so it can report lost data (see KafkaConsumer).
            ("auto.offset.reset", "error"),
            ("isolation.level", isolation.rawValue),
            ("enable.partition.eof", reportEndOfPartition ? "true" : "false"),
            ("session.timeout.ms", String(sessionTimeoutMs)),
            ("max.poll.interval.ms", String(maxPollIntervalMs)),
        ]
        if let assignmentStrategy { out.append(("partition.assignment.strategy", assignmentStrategy)) }
        return out + client.librdkafkaProperties
    }
}
