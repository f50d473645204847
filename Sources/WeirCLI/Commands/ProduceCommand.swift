import ArgumentParser
import Foundation
import WeirKafka

/// `weir produce`: publishes a JSONL file to a topic, one message per line, and waits for every
/// delivery report.
///
/// Each non-empty line is sent as it is (its bytes are not re-encoded). The message key is the
/// value of a top-level field (`--key-field`: a string's unescaped bytes, or a number's text);
/// the Kafka timestamp is a top-level integer field in epoch milliseconds (`--timestamp-field`).
/// The producer is idempotent (acks=all, no duplicates or reordering on retries), so records of
/// one partition land in file order. Exits non-zero, naming the topic and the first failed lines,
/// if any record was not delivered.
struct ProduceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "produce",
        abstract: "Publish a JSONL file to a Kafka topic, one message per line (key and timestamp from fields).",
        discussion: """
            Waits for every delivery report and exits non-zero, naming the topic and the failed \
            lines, if any record was not delivered. A line that is not a JSON object, or lacks the \
            key or timestamp field, stops the command before anything else is sent from it. \
            Progress and the summary go to stderr. Use FILE '-' for stdin.
            """
    )

    @Argument(help: "The JSONL file ('-' for stdin).") var file: String
    @Option(help: "Topic to publish to.") var topic: String
    @Option(help: "Bootstrap servers, HOST:PORT[,HOST:PORT...].") var brokers: String?
    @Option(help: "Read the bootstrap servers from the first line of this file (as written by `weir broker --bootstrap-file`).")
    var bootstrapFile: String?
    @Option(help: "Top-level field whose value is the message key (default: no key).") var keyField: String?
    @Option(help: "Top-level integer field (epoch milliseconds) used as the message timestamp (default: the time of sending).")
    var timestampField: String?
    @Option(help: "Send every record to this partition (default: by key hash, librdkafka's consistent_random partitioner).")
    var partition: Int32?
    @Option(help: "How long a record may take to be delivered, retries included, in milliseconds.")
    var deliveryTimeoutMs = 60_000
    @Option(name: .customShort("X"), help: "A librdkafka producer property, as name=value (repeatable).") var properties: [String] = []

    func validate() throws {
        if (brokers == nil) == (bootstrapFile == nil) { throw ValidationError("give exactly one of --brokers HOST:PORT or --bootstrap-file FILE") }
        if let partition, partition < 0 { throw ValidationError("--partition must not be negative, got \(partition)") }
        if deliveryTimeoutMs < 1 { throw ValidationError("--delivery-timeout-ms must be positive") }
        for p in properties where !p.contains("=") { throw ValidationError("-X \(p): expected name=value") }
    }

    func run() throws {
        let bootstrap = try resolveBootstrap()
        let data: Data
        do {
            data = file == "-" ? FileHandle.standardInput.readDataToEndOfFile()
                : try Data(contentsOf: URL(fileURLWithPath: file), options: .alwaysMapped)
        } catch {
            throw fail("weir produce: cannot read \(file): \(error.localizedDescription)")
        }
        var props: [String: String] = [:]
        for p in properties {
            let parts = p.split(separator: "=", maxSplits: 1)
            props[String(parts[0])] = parts.count > 1 ? String(parts[1]) : ""
        }
        let config = ProducerConfiguration(
            client: KafkaConfiguration(bootstrapServers: bootstrap, clientID: "weir-produce", properties: props),
            idempotence: true, lingerMs: 20, deliveryTimeoutMs: deliveryTimeoutMs)
        let producer = try KafkaProducer(configuration: config)
        let tally = DeliveryTally()
        producer.onDelivery = { tally.record($0) }
        let target = try producer.topic(topic)
        let fields = TopLevelFields(key: keyField.map { Array($0.utf8) }, timestamp: timestampField.map { Array($0.utf8) })

        let clock = ContinuousClock()
        let start = clock.now
        var lastProgress = start
        var sent = 0
        var lineNumber = 0
        try data.withUnsafeBytes { (all: UnsafeRawBufferPointer) in
            var pos = 0
            while pos < all.count {
                let end = memchr(all.baseAddress! + pos, 0x0A, all.count - pos).map { all.baseAddress!.distance(to: UnsafeRawPointer($0)) } ?? all.count
                lineNumber += 1
                var line = UnsafeRawBufferPointer(rebasing: all[pos..<end])
                pos = end + 1
                if let last = line.last, last == 0x0D { line = UnsafeRawBufferPointer(rebasing: line.dropLast()) }
                if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
                let found: TopLevelFields.Found
                do throws(TopLevelFields.ScanError) {
                    found = try fields.scan(line)
                } catch {
                    throw fail("weir produce: \(file) line \(lineNumber): \(error.message); nothing more sent (\(sent) records sent before it)",
                               producer: producer, tally: tally)
                }
                do {
                    if let r = found.keyRange {
                        try producer.send(to: target, partition: partition, key: UnsafeRawBufferPointer(rebasing: line[r]), value: line,
                                          timestamp: found.timestamp, id: UInt64(lineNumber))
                    } else if let key = found.unescapedKey {
                        try key.withUnsafeBytes { k in
                            try producer.send(to: target, partition: partition, key: k, value: line,
                                              timestamp: found.timestamp, id: UInt64(lineNumber))
                        }
                    } else {
                        try producer.send(to: target, partition: partition, key: nil, value: line,
                                          timestamp: found.timestamp, id: UInt64(lineNumber))
                    }
                } catch {
                    throw fail("weir produce: topic \(topic), line \(lineNumber): \(error)", producer: producer, tally: tally)
                }
                sent += 1
                if sent & 1023 == 0 {
                    producer.poll()
                    if clock.now - lastProgress >= .seconds(1) {
                        lastProgress = clock.now
                        let c = producer.counts
                        stderr("weir produce: \(sent) sent, \(c.delivered) delivered, \(c.failed) failed (\(rate(sent, clock.now - start)) records/s)")
                    }
                }
            }
        }
        do {
            try producer.flush(timeout: .milliseconds(deliveryTimeoutMs + 10_000))
        } catch {
            throw fail("weir produce: topic \(topic): \(error)", producer: producer, tally: tally)
        }
        let elapsed = clock.now - start
        let counts = producer.counts
        producer.close()
        let perPartition = tally.perPartition.sorted { $0.key < $1.key }.map { "p\($0.key)=\($0.value)" }.joined(separator: " ")
        if counts.failed > 0 || counts.delivered != UInt64(sent) {
            throw fail(tally.failureSummary(topic: topic, sent: sent, delivered: counts.delivered))
        }
        stderr("weir produce: \(sent) records delivered to \(topic) [\(perPartition)] in \(String(format: "%.3f", seconds(elapsed))) s (\(rate(sent, elapsed)) records/s)")
    }

    private func resolveBootstrap() throws -> String {
        if let brokers { return brokers }
        let path = bootstrapFile!
        guard let text = try? String(contentsOfFile: path, encoding: .utf8),
              let first = text.split(whereSeparator: \.isNewline).first.map({ $0.trimmingCharacters(in: .whitespaces) }), !first.isEmpty
        else { throw fail("weir produce: cannot read a bootstrap address from the first line of \(path)") }
        return first
    }

    /// Prints `message` (and, with a producer, waits for the reports of what was already sent and
    /// summarises them), then returns the exit code to throw.
    private func fail(_ message: String, producer: KafkaProducer? = nil, tally: DeliveryTally? = nil) -> ExitCode {
        stderr(message)
        if let producer, let tally {
            try? producer.flush(timeout: .milliseconds(deliveryTimeoutMs + 10_000))
            let c = producer.counts
            producer.close()
            if c.failed > 0 { stderr(tally.failureSummary(topic: topic, sent: Int(c.sent), delivered: c.delivered)) }
        }
        return ExitCode(1)
    }
}

private func stderr(_ s: String) { FileHandle.standardError.write(Data((s + "\n").utf8)) }
private func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18 }
private func rate(_ n: Int, _ d: Duration) -> String { String(format: "%.0f", Double(n) / max(seconds(d), 1e-9)) }

/// Delivery reports of one `weir produce`: counts per partition and the first failed lines.
/// Only touched on the producing thread (reports are served inside send/poll/flush).
private final class DeliveryTally {
    var perPartition: [Int32: Int] = [:]
    var failedLines: [(line: UInt64, error: KafkaErrorCode)] = []
    var failed = 0

    func record(_ r: DeliveryReport) {
        if let e = r.error {
            failed += 1
            if failedLines.count < 10 { failedLines.append((r.id, e)) }
        } else {
            perPartition[r.partition, default: 0] += 1
        }
    }

    func failureSummary(topic: String, sent: Int, delivered: UInt64) -> String {
        let lines = failedLines.map { "line \($0.line) (\($0.error))" }.joined(separator: ", ")
        return "weir produce: topic \(topic): \(failed) of \(sent) records not delivered (\(delivered) delivered)"
            + (lines.isEmpty ? "" : "; first failures: \(lines)")
    }
}

/// Finds the key and timestamp fields among the top-level members of one JSON object line,
/// skipping nested values. Not a validator: only the structure needed to find them is checked.
struct TopLevelFields {
    struct Found {
        /// The key's bytes within the line (a string's contents without escapes, or a number's
        /// text); nil when no key field is configured, its value is `null`, or it has escapes.
        var keyRange: Range<Int>?
        /// The key of a string value with escapes, resolved.
        var unescapedKey: [UInt8]?
        var timestamp: Int64?
    }

    struct ScanError: Error {
        var message: String
    }

    let key: [UInt8]?
    let timestamp: [UInt8]?

    /// - Throws: ``ScanError`` when the line is not an object, a configured field is missing, or
    ///   the timestamp is not a non-negative integer.
    func scan(_ line: UnsafeRawBufferPointer) throws(ScanError) -> Found {
        var s = ByteCursor(bytes: line)
        var found = Found()
        var haveKey = key == nil, haveTs = timestamp == nil
        s.skipSpace()
        guard s.take(0x7B) else { throw ScanError(message: "not a JSON object") }
        s.skipSpace()
        if !s.take(0x7D) {
            while true {
                s.skipSpace()
                guard let name = s.stringRange() else { throw ScanError(message: "expected a field name at byte \(s.pos)") }
                s.skipSpace()
                guard s.take(0x3A) else { throw ScanError(message: "expected ':' at byte \(s.pos)") }
                s.skipSpace()
                let valueStart = s.pos
                guard s.skipValue() else { throw ScanError(message: "malformed value at byte \(valueStart)") }
                let value = valueStart..<s.pos
                if !haveKey, let key, s.equals(name, key) {
                    try setKey(&found, s, value)
                    haveKey = true
                } else if !haveTs, let timestamp, s.equals(name, timestamp) {
                    found.timestamp = try timestampValue(s, value)
                    haveTs = true
                }
                s.skipSpace()
                if s.take(0x2C) { continue }
                if s.take(0x7D) { break }
                throw ScanError(message: "expected ',' or '}' at byte \(s.pos)")
            }
        }
        if !haveKey { throw ScanError(message: "no top-level field '\(String(decoding: key!, as: UTF8.self))' for the key") }
        if !haveTs { throw ScanError(message: "no top-level field '\(String(decoding: timestamp!, as: UTF8.self))' for the timestamp") }
        return found
    }

    private func setKey(_ found: inout Found, _ s: ByteCursor, _ r: Range<Int>) throws(ScanError) {
        let first = s.bytes[r.lowerBound]
        if first == 0x22 {
            let contents = r.lowerBound + 1..<r.upperBound - 1
            if !UnsafeRawBufferPointer(rebasing: s.bytes[contents]).contains(0x5C) {
                found.keyRange = contents
                return
            }
            guard let text = s.unescaped(contents) else { throw ScanError(message: "bad escape in the key field") }
            found.unescapedKey = text
            return
        }
        if first == 0x6E { return }  // null: no key
        if first == 0x7B || first == 0x5B { throw ScanError(message: "the key field is an object or array") }
        found.keyRange = r
    }

    private func timestampValue(_ s: ByteCursor, _ r: Range<Int>) throws(ScanError) -> Int64 {
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: s.bytes[r]), as: UTF8.self)
        if let v = Int64(text), v >= 0 { return v }
        if let d = Double(text), d.isFinite, d >= 0, d < 9.2e18, d == d.rounded(.towardZero) { return Int64(d) }
        throw ScanError(message: "timestamp field '\(String(decoding: timestamp!, as: UTF8.self))' is \(text), not a non-negative integer (epoch milliseconds)")
    }
}

/// A read position in one line's bytes.
private struct ByteCursor {
    let bytes: UnsafeRawBufferPointer
    var pos = 0

    var atEnd: Bool { pos >= bytes.count }

    mutating func skipSpace() {
        while pos < bytes.count, bytes[pos] == 0x20 || bytes[pos] == 0x09 || bytes[pos] == 0x0A || bytes[pos] == 0x0D { pos += 1 }
    }

    mutating func take(_ b: UInt8) -> Bool {
        guard pos < bytes.count, bytes[pos] == b else { return false }
        pos += 1
        return true
    }

    /// A string at the cursor: returns the range of its raw contents (between the quotes).
    mutating func stringRange() -> Range<Int>? {
        guard take(0x22) else { return nil }
        let start = pos
        while pos < bytes.count {
            let b = bytes[pos]
            if b == 0x5C { pos += 2; continue }
            if b == 0x22 { pos += 1; return start..<pos - 1 }
            pos += 1
        }
        return nil
    }

    /// Skips one JSON value (string, number, literal, or a nested object/array).
    mutating func skipValue() -> Bool {
        guard pos < bytes.count else { return false }
        switch bytes[pos] {
        case 0x22: return stringRange() != nil
        case 0x7B, 0x5B:
            var depth = 0
            while pos < bytes.count {
                let b = bytes[pos]
                if b == 0x22 { guard stringRange() != nil else { return false }; continue }
                if b == 0x7B || b == 0x5B { depth += 1 }
                if b == 0x7D || b == 0x5D {
                    depth -= 1
                    if depth == 0 { pos += 1; return true }
                }
                pos += 1
            }
            return false
        default:
            let start = pos
            while pos < bytes.count {
                let b = bytes[pos]
                if b == 0x2C || b == 0x7D || b == 0x5D || b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D { break }
                pos += 1
            }
            return pos > start
        }
    }

    /// Whether the raw string contents in `r` equal `name` (field names are compared as written).
    func equals(_ r: Range<Int>, _ name: [UInt8]) -> Bool {
        guard r.count == name.count else { return false }
        for (i, b) in name.enumerated() where bytes[r.lowerBound + i] != b { return false }
        return true
    }

    /// The bytes of a string's raw contents with JSON escapes resolved; nil on a bad escape.
    func unescaped(_ r: Range<Int>) -> [UInt8]? {
        let raw = UnsafeRawBufferPointer(rebasing: bytes[r])
        var quoted = [UInt8(0x22)]
        quoted.append(contentsOf: raw)
        quoted.append(0x22)
        guard let s = try? JSONSerialization.jsonObject(with: Data(quoted), options: [.fragmentsAllowed]) as? String else { return nil }
        return Array(s.utf8)
    }
}
