import WeirKafka
import WeirTopology

/// Writes outputs to the topology's sink topics with an idempotent producer. Dead letters carry
/// the original bytes as value and headers `weir.error`, `weir.field`, `weir.source.topic`,
/// `weir.source.partition`, `weir.source.offset`.
public struct KafkaSink: OutputSink {
    public let producer: KafkaProducer
    private let topics: [ProducerTopic]
    private let dlq: ProducerTopic

    public init(producer: KafkaProducer, sinks: SinksSpec) throws {
        self.producer = producer
        topics = try OutputKind.allCases.map { try producer.topic(Self.topicName($0, sinks)) }
        dlq = try producer.topic(sinks.deadLetters)
    }

    /// The topic a kind of output goes to.
    public static func topicName(_ kind: OutputKind, _ sinks: SinksSpec) -> String {
        switch kind {
        case .scores: return sinks.scores
        case .features: return sinks.features
        case .windows: return sinks.windows
        case .late: return sinks.late
        case .drift: return sinks.drift
        case .alerts: return sinks.alerts
        case .retrain: return sinks.retrain
        case .models: return sinks.models
        }
    }

    /// Every sink topic name (outputs and dead letters), for creating topics on start.
    public static func topicNames(_ sinks: SinksSpec) -> [String] {
        OutputKind.allCases.map { topicName($0, sinks) } + [sinks.deadLetters]
    }

    public mutating func write(_ kind: OutputKind, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer) throws {
        try producer.send(to: topics[kind.rawValue], key: key, value: value)
    }

    public mutating func deadLetter(original: UnsafeRawBufferPointer, reason: String, field: String?, source: SourcePosition) throws {
        var headers = [KafkaHeader(name: "weir.error", string: reason),
                       KafkaHeader(name: "weir.source.topic", string: source.topic),
                       KafkaHeader(name: "weir.source.partition", string: String(source.partition)),
                       KafkaHeader(name: "weir.source.offset", string: String(source.offset))]
        if let field { headers.append(KafkaHeader(name: "weir.field", string: field)) }
        try producer.send(to: dlq, key: nil, value: original, headers: headers)
    }
}
