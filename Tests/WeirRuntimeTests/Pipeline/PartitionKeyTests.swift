import Foundation
import Testing
import WeirCore
import WeirTestSupport
import WeirTopology
@testable import WeirRuntime

/// The key rule of a partitioned topology (docs/scaling.md, "Keys and partitions: the rule"), in
/// process: a task checks each decoded record's message key against its `source.key` value and
/// throws ``PartitionKeyError`` at the first that differs or is missing, before anything of the
/// batch is written; dead letters are not checked; topologies that cannot keep the rule are
/// refused when the task is set up. One instance (``Pipeline/Role/whole``) accepts any keying.
@Suite struct PartitionKeyTests {
    /// A top-level string or number field's text in a generated line (as `weir produce --key-field` sends it).
    static func field(_ name: String, of line: String) -> String? {
        guard let r = line.range(of: "\"\(name)\":(\"[^\"]*\"|[^,}]*)", options: .regularExpression) else { return nil }
        var v = String(line[r].dropFirst(name.count + 3))
        if v.hasPrefix("\"") { v = String(v.dropFirst().dropLast()) }
        return v
    }

    static func lines(_ n: Int, seed: UInt64 = 5) -> [String] {
        let g = CardFraudGenerator(seed: seed, users: 300, driftAt: n / 2)
        return (0..<n).map { g.event($0) }
    }

    static func compile(_ text: String) throws -> CompiledTopology {
        try TopologyCompiler.compile(try TopologyLoader.parse(text, file: "t.yaml"))
    }

    static func task(_ c: CompiledTopology, partition: Int32 = 3) throws -> Pipeline {
        try Pipeline(compiled: c, partitions: 1, role: .task(partition: partition))
    }

    /// Processes `lines` (offsets from `first`) as one batch keyed by `key` of each line (nil: no key columns).
    static func process(_ p: inout Pipeline, _ lines: [String], first: Int64 = 0, partition: Int32 = 3,
                        key: (String) -> String??, into sink: inout RecordingSink) throws {
        var batch = InputBatch()
        for (i, l) in lines.enumerated() {
            if let k = key(l) {
                batch.append(Array(l.utf8), key: k.map { Array($0.utf8) }, partition: partition, offset: first + Int64(i))
            } else {
                batch.append(Array(l.utf8), partition: partition, offset: first + Int64(i))
            }
        }
        try p.process(batch, topic: "transactions", now: 0, into: &sink)
    }

    static func error(_ body: () throws -> Void) -> PartitionKeyError? {
        do { try body() } catch let e as PartitionKeyError { return e } catch { Issue.record("unexpected \(error)") }
        return nil
    }

    /// Keys equal to `user` change nothing: the same records and global-stage batches as batches
    /// without key columns, dead letters (keyed wrongly) included.
    @Test func matchingKeysProcessLikeABatchWithoutKeys() throws {
        let c = try SplitPipelineTests.topology()
        var keyed = try Self.task(c), plain = try Self.task(c)
        var keyedSink = RecordingSink(), plainSink = RecordingSink()
        var all = Self.lines(6000)
        all[17] = #"{"ts":"#                                              // malformed
        all[1234] = all[1234].replacingOccurrences(of: "\"amount\":", with: "\"amount\":-")  // fails validation
        var keyedBatches: [[UInt8]] = [], plainBatches: [[UInt8]] = []
        for start in stride(from: 0, to: all.count, by: 500) {
            let chunk = Array(all[start..<start + 500])
            // Dead letters carry a wrong key (or none): not checked.
            try Self.process(&keyed, chunk, first: Int64(start), key: { l in .some(Self.field("amount", of: l).map { $0.hasPrefix("-") } == true ? "wrong" : Self.field("user", of: l)) },
                             into: &keyedSink)
            try Self.process(&plain, chunk, first: Int64(start), key: { _ in nil }, into: &plainSink)
            var a: [UInt8] = [], b: [UInt8] = []
            if keyed.takeGlobalBatch(into: &a) { keyedBatches.append(a) }
            if plain.takeGlobalBatch(into: &b) { plainBatches.append(b) }
        }
        #expect(keyedSink.records.count == 6000, "5,998 scores and 2 dead letters")
        #expect(keyedSink.records.filter { $0.kind == -1 }.count == 2, "two dead letters")
        #expect(keyedSink.records == plainSink.records)
        #expect(keyedBatches == plainBatches)
        #expect(keyed.counters == plain.counters)
        #expect(keyed.checkpointState() == plain.checkpointState())
    }

    /// A record keyed by another field stops the task with an error naming where and what to do;
    /// nothing of its batch (not even the records before it) is written.
    @Test func aWrongKeyThrowsNamingPartitionOffsetAndField() throws {
        let c = try SplitPipelineTests.topology()
        var p = try Self.task(c)
        var sink = RecordingSink()
        let lines = Self.lines(40)
        try Self.process(&p, Array(lines[0..<20]), first: 100, key: { .some(Self.field("user", of: $0)) }, into: &sink)
        let written = sink.records.count
        let e = try #require(Self.error {
            try Self.process(&p, Array(lines[20..<40]), first: 120, key: { l in
                .some(l == lines[27] ? Self.field("merchant", of: l) : Self.field("user", of: l))
            }, into: &sink)
        })
        #expect(e.topic == "transactions" && e.partition == 3 && e.offset == 127 && e.keyField == "user")
        #expect(e.messageKey == Array(Self.field("merchant", of: lines[27])!.utf8))
        #expect(e.fieldValue == Array(Self.field("user", of: lines[27])!.utf8))
        let text = e.description
        for part in ["transactions partition 3 offset 127", "the message key is \"\(Self.field("merchant", of: lines[27])!)\" but the record's ",
                     "user is \"\(Self.field("user", of: lines[27])!)\"", "source.key: user", "weir produce --key-field user",
                     "without --partitioned", "last checkpoint"] {
            #expect(text.contains(part), "\(part) in: \(text)")
        }
        #expect(sink.records.count == written, "nothing of the refused batch was written")
        #expect(p.counters.records == 20)
    }

    @Test func aMissingKeyThrows() throws {
        var p = try Self.task(try SplitPipelineTests.topology(), partition: 1)
        var sink = RecordingSink()
        let lines = Self.lines(5)
        let e = try #require(Self.error {
            try Self.process(&p, lines, first: 9, partition: 1, key: { l in .some(l == lines[0] ? nil : Self.field("user", of: l)) }, into: &sink)
        })
        #expect(e.partition == 1 && e.offset == 9 && e.messageKey == nil)
        #expect(e.description.contains("transactions partition 1 offset 9: the message has no key (null) but the record's user is"), "\(e.description)")
        #expect(sink.records.isEmpty)
    }

    /// A dead letter is not key-checked: it is written as one, whatever its key.
    @Test func aDeadLetterIsNotKeyChecked() throws {
        var p = try Self.task(try SplitPipelineTests.topology())
        var sink = RecordingSink()
        let good = Self.lines(1)[0]
        try Self.process(&p, [#"{"ts":oops"#, #"{"user":"u1"}"#, good], key: { l in .some(l == good ? Self.field("user", of: l) : (l.contains("oops") ? nil : "u2")) }, into: &sink)
        #expect(sink.records.filter { $0.kind == -1 }.count == 2)
        #expect(p.counters.deadLetters == 2 && p.counters.records == 1)
    }

    static let sensors = """
        name: sensors
        source: {topics: [readings], key: KEY, event_time: ts}
        schema:
          ts: {type: timestamp}
          device: {type: int}
          site: {type: category}
          online: {type: bool}
          temp: {type: double}
        features:
          temp_mean_1m: {window: {tumbling: 1m}, by: KEY, aggregate: mean, field: temp}
        """

    static func reading(device: Int, site: String) -> String {
        #"{"ts":1700000000000,"device":\#(device),"site":"\#(site)","online":true,"temp":21.5}"#
    }

    /// An int key field: the message key is its decimal text (42 accepted; 43 and 042 refused).
    @Test func anIntKeyFieldTakesItsDecimalText() throws {
        let c = try Self.compile(Self.sensors.replacingOccurrences(of: "KEY", with: "device"))
        var p = try Self.task(c)
        var sink = RecordingSink()
        try Self.process(&p, [Self.reading(device: 42, site: "a"), Self.reading(device: -7, site: "a")], key: { .some(Self.field("device", of: $0)) }, into: &sink)
        #expect(p.counters.records == 2)
        for wrong in ["43", "042", "42.0"] {
            var q = try Self.task(c)
            let e = try #require(Self.error {
                try Self.process(&q, [Self.reading(device: 42, site: "a")], first: 5, key: { _ in .some(wrong) }, into: &sink)
            })
            #expect(e.offset == 5 && e.keyField == "device" && e.fieldValue == Array("42".utf8) && e.messageKey == Array(wrong.utf8))
            #expect(e.description.contains("the message key is \"\(wrong)\" but the record's device is \"42\" (source.key: device)"), "\(e.description)")
        }
    }

    /// A record without a value for an optional key field never matches.
    @Test func aRecordWithoutItsKeyFieldThrows() throws {
        let c = try Self.compile(Self.sensors.replacingOccurrences(of: "device: {type: int}", with: "device: {type: int, required: false}")
            .replacingOccurrences(of: "KEY", with: "device"))
        var p = try Self.task(c)
        var sink = RecordingSink()
        let line = Self.reading(device: 1, site: "a").replacingOccurrences(of: #""device":1,"#, with: "")
        for key in ["1", "", nil] as [String?] {
            let e = try #require(Self.error { try Self.process(&p, [line], first: 4, key: { _ in .some(key) }, into: &sink) })
            #expect(e.fieldValue == nil && e.description.contains("but the record has no value for device (source.key: device)"), "\(e.description)")
        }
    }

    /// A category key field: the message key is the category's name.
    @Test func aCategoryKeyFieldTakesItsName() throws {
        let c = try Self.compile(Self.sensors.replacingOccurrences(of: "KEY", with: "site"))
        var p = try Self.task(c)
        var sink = RecordingSink()
        try Self.process(&p, [Self.reading(device: 1, site: "grocery"), Self.reading(device: 2, site: "fuel")], key: { .some(Self.field("site", of: $0)) }, into: &sink)
        #expect(p.counters.records == 2)
        let e = try #require(Self.error {
            try Self.process(&p, [Self.reading(device: 3, site: "fuel")], first: 2, key: { _ in .some("grocery") }, into: &sink)
        })
        #expect(e.offset == 2 && e.fieldValue == Array("fuel".utf8))
        let b = try Self.task(try Self.compile(Self.sensors.replacingOccurrences(of: "KEY", with: "online")))
        var q = b
        try Self.process(&q, [Self.reading(device: 1, site: "x")], key: { _ in .some("true") }, into: &sink)
        #expect(Self.error { try Self.process(&q, [Self.reading(device: 1, site: "x")], key: { _ in .some("1") }, into: &sink) } != nil)
    }

    /// Keys and bytes that cannot be shown as they are: cut, escaped, or as hex.
    @Test func longAndBinaryKeysAreShownCut() throws {
        let c = try SplitPipelineTests.topology()
        var sink = RecordingSink()
        let line = Self.lines(1)[0]
        var p = try Self.task(c)
        let long = String(repeating: "é", count: 300)
        let e1 = try #require(Self.error { try Self.process(&p, [line], key: { _ in .some(long) }, into: &sink) })
        #expect(e1.description.contains("\"\(String(repeating: "é", count: 64))\"… (600 bytes)"), "\(e1.description)")
        var q = try Self.task(c)
        var batch = InputBatch()
        batch.append(Array(line.utf8), key: [0xFF, 0x00, 0x0A, 0x22], partition: 0, offset: 1)
        let e2 = try #require(Self.error { try q.process(batch, topic: "t", now: 0, into: &sink) })
        #expect(e2.description.contains("the message key is 0xff000a22 (binary)"), "\(e2.description)")
        var r = try Self.task(c)
        let e3 = try #require(Self.error { try Self.process(&r, [line], key: { _ in .some("a\"b\nc") }, into: &sink) })
        #expect(e3.description.contains(#"the message key is "a\"b\nc" but"#), "\(e3.description)")
    }

    /// One instance (whole) and the global stage accept any keying; a batch with keys is just processed.
    @Test func oneInstanceAcceptsAnyKeying() throws {
        var whole = try Pipeline(compiled: try SplitPipelineTests.topology(), partitions: 4, role: .whole)
        var sink = RecordingSink()
        try Self.process(&whole, Self.lines(50), key: { .some(Self.field("merchant", of: $0)) }, into: &sink)
        #expect(whole.counters.records == 50 && whole.counters.scored == 50)
    }

    /// Setup: a partitioned task refuses a topology without source.key, a double key, and windows
    /// keyed by another field, naming the features and the fields; one instance runs them all.
    @Test func setupRefusesTopologiesThatCannotKeepTheRule() throws {
        func refusal(_ text: String) throws -> String? {
            let c = try Self.compile(text)
            _ = try Pipeline(compiled: c, role: .whole)
            do { _ = try Self.task(c) } catch { return "\(error)" }
            return nil
        }
        let noKey = try #require(try refusal(Self.sensors.replacingOccurrences(of: "key: KEY, ", with: "").replacingOccurrences(of: "KEY", with: "device")))
        #expect(noKey.contains("needs source.key") && noKey.contains("without --partitioned"), "\(noKey)")
        let double = try #require(try refusal(Self.sensors.replacingOccurrences(of: "key: KEY", with: "key: temp").replacingOccurrences(of: "KEY", with: "device")))
        #expect(double.contains("source.key: temp is a double"), "\(double)")
        let other = Self.sensors.replacingOccurrences(of: "key: KEY", with: "key: device").replacingOccurrences(of: "by: KEY", with: "by: site")
            + "\n  count_by_device: {window: {tumbling: 1m}, by: device, aggregate: count}\n  site_max_5m: {window: {tumbling: 5m}, by: site, aggregate: max, field: temp}\n  online_n: {window: {tumbling: 1m}, by: online, aggregate: count}\n"
        let split = try #require(try refusal(other))
        #expect(split.contains("temp_mean_1m (by: site); site_max_5m (by: site); online_n (by: online) are keyed by online, site, not by source.key: device"), "\(split)")
        #expect(split.contains("key them by device, or run one instance without --partitioned") && !split.contains("count_by_device"), "\(split)")
        let one = try #require(try refusal(Self.sensors.replacingOccurrences(of: "key: KEY", with: "key: device").replacingOccurrences(of: "by: KEY", with: "by: site")))
        #expect(one.contains("temp_mean_1m (by: site) is keyed by site, not by source.key: device"), "\(one)")
        #expect(try refusal(Self.sensors.replacingOccurrences(of: "KEY", with: "device")) == nil)
    }
}
