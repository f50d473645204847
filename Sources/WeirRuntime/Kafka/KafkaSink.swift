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
        topics = try OutputKind.allCases.map { kind in
            let name: String
            switch kind {
            case .scores: name = sinks.scores
            case .features: name = sinks.features
            case .windows: name = sinks.windows
            case .late: name = sinks.late
            case .drift: name = sinks.drift
            case .alerts: name = sinks.alerts
            case .retrain: name = sinks.retrain
            case .models: name = sinks.models
            }
            return try producer.topic(name)
        }
        dlq = try producer.topic(sinks.deadLetters)
    }

    /// Every sink topic name with its kind, for creating topics on start.
    public static func topicNames(_ sinks: SinksSpec) -> [String] {
        [sinks.scores, sinks.features, sinks.windows, sinks.late, sinks.drift, sinks.alerts, sinks.retrain, sinks.models, sinks.deadLetters]
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
