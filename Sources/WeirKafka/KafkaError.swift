/// A Kafka error code: librdkafka's `rd_kafka_resp_err_t` as a Swift value.
///
/// Negative codes are librdkafka-internal (`-1xx`), positive ones are Kafka protocol errors.
/// Named constants cover the codes Weir reacts to; any other code still round-trips.
public struct KafkaErrorCode: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    public static let noError = KafkaErrorCode(rawValue: 0)
    public static let partitionEOF = KafkaErrorCode(rawValue: -191)
    public static let timedOut = KafkaErrorCode(rawValue: -185)
    public static let queueFull = KafkaErrorCode(rawValue: -184)
    public static let allBrokersDown = KafkaErrorCode(rawValue: -187)
    public static let unknownTopic = KafkaErrorCode(rawValue: -188)
    public static let unknownPartition = KafkaErrorCode(rawValue: -190)
    public static let autoOffsetReset = KafkaErrorCode(rawValue: -140)
    public static let fenced = KafkaErrorCode(rawValue: -144)
    public static let fatal = KafkaErrorCode(rawValue: -150)
    public static let notImplemented = KafkaErrorCode(rawValue: -170)
    public static let offsetOutOfRange = KafkaErrorCode(rawValue: 1)
    public static let unknownTopicOrPartition = KafkaErrorCode(rawValue: 3)
    public static let notLeaderForPartition = KafkaErrorCode(rawValue: 6)
    public static let requestTimedOut = KafkaErrorCode(rawValue: 7)
    public static let notCoordinator = KafkaErrorCode(rawValue: 16)
    public static let topicAlreadyExists = KafkaErrorCode(rawValue: 36)
    public static let invalidProducerEpoch = KafkaErrorCode(rawValue: 47)
    public static let producerFenced = KafkaErrorCode(rawValue: 90)

    /// True for the codes that mean another producer with the same transactional id took over.
    public var isFencing: Bool { self == .fenced || self == .producerFenced || self == .invalidProducerEpoch }

    public var description: String { KafkaErrorCode.describe?(self) ?? "code \(rawValue)" }

    /// Filled in by the RDKafka layer with `rd_kafka_err2str`, so this file stays free of C.
    nonisolated(unsafe) static var describe: ((KafkaErrorCode) -> String)?
}

/// Where a Kafka error happened: enough to find the record or the call.
public struct KafkaErrorContext: Hashable, Sendable, CustomStringConvertible {
    public var topic: String?
    public var partition: Int32?
    public var offset: Int64?
    public var operation: String

    public init(operation: String, topic: String? = nil, partition: Int32? = nil, offset: Int64? = nil) {
        self.operation = operation
        self.topic = topic
        self.partition = partition
        self.offset = offset
    }

    public var description: String {
        var s = operation
        if let topic { s += " topic=\(topic)" }
        if let partition { s += " partition=\(partition)" }
        if let offset { s += " offset=\(offset)" }
        return s
    }
}

/// Every error the Kafka layer throws. Cases carry what went wrong and where.
public enum KafkaError: Error, Hashable, Sendable, CustomStringConvertible {
    /// A librdkafka property was unknown or its value rejected; `reason` is librdkafka's text.
    case invalidConfiguration(property: String, value: String, reason: String)
    /// The client could not be created (e.g. conflicting properties).
    case clientCreation(reason: String)
    /// A broker or client error, with librdkafka's code and text.
    case broker(code: KafkaErrorCode, message: String, context: KafkaErrorContext, isFatal: Bool, isRetriable: Bool)
    /// Another producer with the same transactional id fenced this one. Fatal for this producer.
    case fenced(transactionalID: String, message: String)
    /// An operation did not complete within its bound.
    case timedOut(operation: String, after: Duration)
    /// The embedded broker (librdkafka's mock cluster) does not implement this request.
    case unsupportedByEmbeddedBroker(operation: String)
    /// Retention deleted records this consumer had not read yet.
    case dataLoss(DataLossReport)
    /// A transaction operation failed and the transaction must be aborted before going on.
    case transactionRequiresAbort(message: String)
    /// The call is not valid in this state (e.g. producing on a closed producer).
    case invalidState(String)

    public var isFatal: Bool {
        switch self {
        case .fenced, .dataLoss: return true
        case .broker(_, _, _, let fatal, _): return fatal
        default: return false
        }
    }

    public var isRetriable: Bool {
        switch self {
        case .broker(_, _, _, _, let retriable): return retriable
        case .timedOut: return true
        default: return false
        }
    }

    public var description: String {
        switch self {
        case let .invalidConfiguration(p, v, r): return "invalid Kafka configuration \(p)=\(redactIfSecret(p, v)): \(r)"
        case let .clientCreation(r): return "could not create Kafka client: \(r)"
        case let .broker(code, m, ctx, fatal, _):
            return "Kafka error \(code.rawValue) (\(fatal ? "fatal" : "non-fatal")) during \(ctx): \(m)"
        case let .fenced(id, m): return "producer fenced: transactional.id \(id) now belongs to a newer producer: \(m)"
        case let .timedOut(op, d): return "\(op) timed out after \(d)"
        case let .unsupportedByEmbeddedBroker(op):
            return "\(op) is not implemented by the embedded broker (librdkafka mock cluster); use a real Kafka cluster"
        case let .dataLoss(r): return r.description
        case let .transactionRequiresAbort(m): return "transaction must be aborted: \(m)"
        case let .invalidState(m): return "invalid state: \(m)"
        }
    }
}

/// Records a consumer expected to read but that retention (or truncation) removed.
public struct DataLossReport: Hashable, Sendable, CustomStringConvertible {
    public var topic: String
    public var partition: Int32
    /// The offset the consumer was about to read.
    public var expectedOffset: Int64
    /// The first offset still available (the log start).
    public var firstAvailableOffset: Int64
    /// How many offsets were skipped: `firstAvailableOffset - expectedOffset`.
    public var skippedOffsets: Int64 { max(0, firstAvailableOffset - expectedOffset) }

    public var description: String {
        "data loss on \(topic)[\(partition)]: expected offset \(expectedOffset), first available \(firstAvailableOffset), "
            + "\(skippedOffsets) offsets skipped (deleted by retention before they were consumed)"
    }
}

/// Property names whose values must never be printed.
func isSecretProperty(_ name: String) -> Bool {
    let n = name.lowercased()
    return n.contains("password") || n.contains("secret") || n.hasSuffix(".key") || n.contains("key.pem")
        || n.contains("keystore") || n.contains("token") || n == "sasl.oauthbearer.config"
}

func redactIfSecret(_ name: String, _ value: String) -> String {
    isSecretProperty(name) ? "<redacted>" : value
}
