import Foundation
import Testing
import WeirTestSupport
@testable import WeirKafka

/// One embedded broker per test; unique topic and group names so tests never see each other's data.
func uniqueName(_ prefix: String) -> String { "\(prefix)-\(UInt32.random(in: 0...UInt32.max))" }

func producer(_ broker: EmbeddedBroker, transactionalID: String? = nil, lingerMs: Int = 5,
              deliveryTimeoutMs: Int = 120_000) throws -> KafkaProducer {
    try KafkaProducer(configuration: ProducerConfiguration(
        client: KafkaConfiguration(bootstrapServers: broker.bootstrapServers),
        transactionalID: transactionalID, lingerMs: lingerMs, deliveryTimeoutMs: deliveryTimeoutMs))
}

func consumer(_ broker: EmbeddedBroker, group: String, eof: Bool = false,
              reset: OffsetResetPolicy = .earliest, sessionTimeoutMs: Int = 6000) throws -> KafkaConsumer {
    try KafkaConsumer(configuration: ConsumerConfiguration(
        client: KafkaConfiguration(bootstrapServers: broker.bootstrapServers,
                                   properties: ["topic.metadata.refresh.interval.ms": "1000"]),
        groupID: group, offsetReset: reset, reportEndOfPartition: eof, sessionTimeoutMs: sessionTimeoutMs))
}

/// A new topic of `partitions` partitions holding `count` records, record `i` in partition
/// `i % partitions` with the value `value(i)` (default: its number as text). Returns its name.
func filledTopic(_ broker: EmbeddedBroker, _ prefix: String, partitions: Int32, count: Int,
                 value: (Int) -> [UInt8] = { Array("\($0)".utf8) }) throws -> String {
    let topic = uniqueName(prefix)
    try broker.createTopic(topic, partitions: partitions)
    let p = try producer(broker)
    defer { p.close() }
    let t = try p.topic(topic)
    for i in 0..<count { try p.send(to: t, partition: Int32(i) % partitions, key: nil, value: value(i)) }
    try p.flush()
    return topic
}

/// A message copied out of the borrowed view, for assertions.
struct Received: Equatable {
    var topic: String
    var partition: Int32
    var offset: Int64
    var key: [UInt8]?
    var value: [UInt8]?
    var timestamp: Int64?
    var headers: [KafkaHeader]

    init(_ m: KafkaMessage, withHeaders: Bool = true) {
        topic = m.topic
        partition = m.partition
        offset = m.offset
        key = m.key.map(Array.init)
        value = m.value.map(Array.init)
        timestamp = m.timestamp
        headers = withHeaders ? m.headers : []
    }
}

/// Polls until `done` or the deadline; fails the test on timeout.
func pollUntil(
    _ consumers: [KafkaConsumer], deadline: Duration = .seconds(60),
    sourceLocation: SourceLocation = #_sourceLocation,
    _ body: (Int, KafkaMessage) -> Void, done: () -> Bool
) throws {
    let clock = ContinuousClock()
    let end = clock.now + deadline
    while !done() {
        if clock.now > end {
            Issue.record("timed out after \(deadline)", sourceLocation: sourceLocation)
            return
        }
        for (i, c) in consumers.enumerated() {
            try c.poll(timeout: .milliseconds(50)) { body(i, $0) }
        }
    }
}

/// Runs a command-line tool found by ``ExternalTool``; returns stdout. Fails if it exits non-zero.
@discardableResult
func run(_ tool: String, _ args: [String], stdin: Data? = nil, timeout: TimeInterval = 60) throws -> String {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: try ExternalTool.named(tool).require())
    p.arguments = args
    let out = Pipe()
    let err = Pipe()
    p.standardOutput = out
    p.standardError = err
    let inPipe = Pipe()
    p.standardInput = inPipe
    try p.run()
    if let stdin { inPipe.fileHandleForWriting.write(stdin) }
    try inPipe.fileHandleForWriting.close()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    let errData = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    if p.terminationStatus != 0 {
        throw KafkaTestError.toolFailed(tool, Int(p.terminationStatus), String(decoding: errData, as: UTF8.self))
    }
    return String(decoding: data, as: UTF8.self)
}

enum KafkaTestError: Error { case toolFailed(String, Int, String) }

