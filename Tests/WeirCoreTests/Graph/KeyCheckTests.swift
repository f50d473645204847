import Testing
@testable import WeirCore

/// The message-key check of partitioned tasks (``StreamGraph/keyCheckField``, docs/scaling.md):
/// matching keys change nothing, the first mismatch stops the batch, dead letters are not checked.
@Suite struct KeyCheckTests {
    /// The `user` value of a message (nil for a malformed one without it).
    static func user(_ bytes: [UInt8]) -> [UInt8]? {
        let s = String(decoding: bytes, as: UTF8.self)
        guard let r = s.range(of: #""user":"[^"]*""#, options: .regularExpression) else { return nil }
        return Array(s[r].dropFirst(8).dropLast().utf8)
    }

    @Test(arguments: [0, 4])
    func matchingKeysGiveWhatABatchWithoutKeysGives(distance: Int) throws {
        let msgs = StreamGraphBatchTests.messages(2000, seed: 9)
        var plain = try StreamGraphBatchTests.graph(maxKeys: 1_000_000)
        var keyed = try StreamGraphBatchTests.graph(maxKeys: 1_000_000)
        plain.prefetchDistance = distance
        keyed.prefetchDistance = distance
        keyed.keyCheckField = keyed.spec.schema.index(of: "user")!
        var want = StreamGraphBatchTests.Observed(), got = StreamGraphBatchTests.Observed()
        var a = InputBatch(), b = InputBatch()
        var checked = 0
        for start in stride(from: 0, to: msgs.count, by: 97) {
            a.removeAll()
            b.removeAll()
            for j in start..<min(msgs.count, start + 97) {
                a.append(msgs[j].bytes, partition: msgs[j].partition, offset: Int64(j))
                // Dead letters (malformed, or failing validation) with a key no record has: not checked.
                let key = Self.user(msgs[j].bytes) ?? Array("no-such-user".utf8)
                let invalid = msgs[j].bytes.count < 20 || String(decoding: msgs[j].bytes, as: UTF8.self).contains("\"amount\":-1")
                b.append(msgs[j].bytes, key: invalid ? Array("wrong".utf8) : key, partition: msgs[j].partition, offset: Int64(j))
                if !invalid { checked += 1 }
            }
            #expect(b.hasKeys && !a.hasKeys)
            plain.process(a, now: 0)
            keyed.process(b, now: 0)
            #expect(keyed.outputs.keyMismatch == nil)
            want.add(plain)
            got.add(keyed)
        }
        #expect(checked > 1800 && want.dead.count > 50)
        #expect(got == want)
        #expect(keyed.snapshot() == plain.snapshot())
        #expect(keyed.recordsProcessed == plain.recordsProcessed && keyed.deadLetterCount == plain.deadLetterCount)
    }

    @Test func theFirstMismatchStopsTheBatchBeforeTheWindows() throws {
        var g = try StreamGraphBatchTests.graph(maxKeys: 1_000_000)
        g.keyCheckField = g.spec.schema.index(of: "user")!
        func line(_ ts: Int, _ user: String) -> [UInt8] {
            Array("{\"ts\":\(ts),\"user\":\"\(user)\",\"amount\":1.5,\"shop\":1,\"merchant\":\"a\"}".utf8)
        }
        var batch = InputBatch()
        batch.append(line(1000, "u1"), key: Array("u1".utf8), partition: 2, offset: 40)
        batch.append(Array("{\"ts\":".utf8), key: nil, partition: 2, offset: 41)  // a dead letter: not checked
        batch.append(line(5000, "u2"), key: Array("u3".utf8), partition: 2, offset: 42)
        batch.append(line(9000, "u4"), key: nil, partition: 2, offset: 43)
        g.process(batch, now: 0)
        let m = try #require(g.outputs.keyMismatch)
        #expect(m == KeyMismatch(partition: 2, offset: 42, messageKey: nil, fieldValue: Array("u2".utf8)).with(key: "u3"))
        #expect(g.outputs.windowResults.count == 0 && g.outputs.features.count == 0, "no record of the batch reached the windows")
        #expect(g.outputs.records.count == 2, "decoding stopped at the mismatch")
        #expect(g.windows.allSatisfy { $0.liveWindows == 0 }, "no window state")

        // A missing key (null).
        batch.removeAll()
        batch.append(line(9000, "u4"), key: nil, partition: 1, offset: 7)
        g.process(batch, now: 0)
        #expect(g.outputs.keyMismatch == KeyMismatch(partition: 1, offset: 7, messageKey: nil, fieldValue: Array("u4".utf8)))
        #expect(g.outputs.keyMismatch?.messageKeyLength == 0)

        // A long key is kept in part, with its length.
        batch.removeAll()
        let long = [UInt8](repeating: 0x41, count: 1000)
        batch.append(line(9000, "u4"), key: long, partition: 1, offset: 8)
        g.process(batch, now: 0)
        #expect(g.outputs.keyMismatch?.messageKey?.count == KeyMismatch.keptKeyBytes)
        #expect(g.outputs.keyMismatch?.messageKeyLength == 1000)

        // Without the check (the default), a batch with keys is processed whatever they are.
        var unchecked = try StreamGraphBatchTests.graph(maxKeys: 1_000_000)
        unchecked.process(batch, now: 0)
        #expect(unchecked.outputs.keyMismatch == nil && unchecked.outputs.records.count == 1)
    }

    /// Each field type against the message key a producer keying by it writes.
    @Test func keysOfEachFieldType() throws {
        let schema = try Schema([.timestamp("ts"), .int("n", required: false), .bool("b"), .category("c", allowed: nil),
                                 .string("s"), .double("d")])
        func check(_ field: String, _ json: String, _ key: String?) throws -> Bool {
            var g = try StreamGraph(GraphSpec(schema: schema, time: .processingTime,
                                              windows: [WindowSpec(name: "w", keyBy: "s", kind: .tumbling(size: 1000), aggregates: [.count()])]))
            g.keyCheckField = schema.index(of: field)!
            var batch = InputBatch()
            batch.append(Array(json.utf8), key: key.map { Array($0.utf8) }, partition: 0, offset: 0)
            g.process(batch, now: 1)
            return g.outputs.keyMismatch == nil
        }
        let base = #"{"ts":5,"n":42,"b":true,"c":"grocery","s":"é\"x","d":1.5}"#
        #expect(try check("n", base, "42"))
        for wrong in ["43", "042", "+42", "42.0", " 42", "4", "420", "", nil] as [String?] { #expect(try !check("n", base, wrong), "\(wrong ?? "nil")") }
        #expect(try check("n", base.replacingOccurrences(of: "42", with: "-9223372036854775808"), "-9223372036854775808"))
        #expect(try check("n", base.replacingOccurrences(of: "42", with: "0"), "0"))
        #expect(try !check("n", base.replacingOccurrences(of: "42", with: "0"), "-0"))
        #expect(try check("n", base.replacingOccurrences(of: "42", with: "-7"), "-7"))
        #expect(try !check("n", base.replacingOccurrences(of: "\"n\":42,", with: ""), "42"), "no value: never matches")
        #expect(try check("ts", base, "5"))
        #expect(try !check("ts", base, "6"))
        #expect(try check("b", base, "true"))
        #expect(try !check("b", base, "1"))
        #expect(try check("b", base.replacingOccurrences(of: "true", with: "false"), "false"))
        #expect(try check("c", base, "grocery"))
        #expect(try !check("c", base, "fuel"))
        #expect(try check("s", base, "é\"x"), "a string's unescaped UTF-8")
        #expect(try !check("s", base, "é\\\"x"))
        #expect(try !check("s", base, "é\"y"), "same length, other bytes")
        #expect(try !check("c", base, "grocerz"))
        #expect(try !check("d", base, "1.5"), "a double never matches")
    }

    @Test func decimalText() {
        for v: Int64 in [0, 1, 9, 10, 99, 100, -1, -10, 1_234_567_890_123, .max, .min] {
            let text = Array(String(v).utf8)
            #expect(text.withUnsafeBytes { StreamGraph.isDecimalText($0, of: v) }, "\(v)")
            #expect(!(Array(("0" + String(v)).utf8)).withUnsafeBytes { StreamGraph.isDecimalText($0, of: v) })
            #expect(!Array(text.dropLast()).withUnsafeBytes { StreamGraph.isDecimalText($0, of: v) })
            #expect(!Array((String(v) + "0").utf8).withUnsafeBytes { StreamGraph.isDecimalText($0, of: v) })
        }
    }
}

extension KeyMismatch {
    func with(key: String) -> KeyMismatch {
        var m = self
        m.messageKey = Array(key.utf8)
        m.messageKeyLength = key.utf8.count
        return m
    }
}
