import Testing
import WeirTestSupport
@testable import WeirRuntime

/// The internal topic's batch format (`docs/scaling.md`): what a task writes, the global stage
/// reads back value for value, and anything else is refused with the part and byte named.
@Suite struct GlobalBatchTests {
    /// One event as the test keeps it (the oracle the reader is compared with).
    struct Event: Equatable {
        var time: Int64, offset: Int64, score: Double, label: Double?
        var inputs: [Double], monitored: [Double], present: UInt64, dead: UInt32, id: [UInt8]
    }

    static func randomEvents(_ n: Int, dimension d: Int, monitored m: Int, seed: UInt64) -> [Event] {
        var g = SeededGenerator(seed: seed)
        // Values the bytes must keep exactly: ±0, subnormals, huge, integral, NaN payloads are not
        // among them (NaN means "no label"; a label is never NaN, schema-validated upstream).
        let specials: [Double] = [0, -0.0, .leastNonzeroMagnitude, .greatestFiniteMagnitude, -1e308, 3, .infinity, 0x1p-1030]
        func value() -> Double { g.next(below: 4) == 0 ? specials[Int(g.next(below: UInt64(specials.count)))] : g.nextGaussian() * 1e3 }
        return (0..<n).map { i in
            let mask = m == 0 ? 0 : g.next() & (m == 64 ? .max : (1 << UInt64(m)) - 1)
            let monitored = (0..<m).map { j in mask & (1 << UInt64(j)) != 0 ? value() : 0 }
            let idLength = Int(g.next(below: 5)) * Int(g.next(below: 7))
            return Event(time: Int64(bitPattern: g.next()), offset: Int64(i) * 3 + 17, score: g.nextUnit(),
                         label: g.next(below: 3) == 0 ? nil : Double(g.next(below: 2)),
                         inputs: (0..<d).map { _ in value() }, monitored: monitored, present: mask,
                         dead: UInt32(truncatingIfNeeded: g.next(below: 3) == 0 ? g.next() : 0),
                         id: (0..<idLength).map { _ in UInt8(truncatingIfNeeded: g.next()) })
        }
    }

    static func write(_ events: [Event], into w: inout GlobalBatchWriter, watermark: Int64 = 99, out: inout [UInt8]) {
        for e in events {
            e.inputs.withUnsafeBufferPointer { x in
                e.monitored.withUnsafeBufferPointer { v in
                    e.id.withUnsafeBytes { id in
                        w.append(eventTime: e.time, offset: e.offset, score: e.score, label: e.label, inputs: x, monitored: v,
                                 present: e.present, deadLettersBefore: e.dead, id: e.id.isEmpty && e.offset % 2 == 0 ? nil : id)
                    }
                }
            }
        }
        w.encode(watermark: watermark, into: &out)
    }

    static func read(_ r: GlobalBatchReader) -> [Event] {
        (0..<r.count).map { i in
            var x = [Double](repeating: .nan, count: r.dimension)
            x.withUnsafeMutableBufferPointer { r.inputs(i, into: $0) }
            #expect(x.map(\.bitPattern) == (0..<r.dimension).map { r.input(i, $0).bitPattern })
            return Event(time: r.eventTime(i), offset: r.offset(i), score: r.score(i), label: r.label(i), inputs: x,
                         monitored: (0..<r.monitoredCount).map { r.monitored(i, $0) }, present: r.presence(i),
                         dead: r.deadLettersBefore(i), id: Array(r.id(i)))
        }
    }

    /// Bit patterns, so -0.0 and 0 differ and the comparison is exact.
    static func bits(_ es: [Event]) -> [[UInt64]] {
        es.map { e in
            [UInt64(bitPattern: e.time), UInt64(bitPattern: e.offset), e.score.bitPattern, e.label?.bitPattern ?? 1, e.present, UInt64(e.dead)]
                + e.inputs.map(\.bitPattern) + e.monitored.map(\.bitPattern) + [UInt64(e.id.count)] + e.id.map(UInt64.init)
        }
    }

    @Test(arguments: [(0, 0, 0), (1, 0, 0), (7, 3, 1), (500, 14, 4), (64, 1, 64), (33, 0, 5), (9, 70, 2), (5, 128, 0)])
    func whatIsWrittenIsReadBackExactly(n: Int, d: Int, m: Int) throws {
        let events = Self.randomEvents(n, dimension: d, monitored: m, seed: UInt64(n * 1000 + d * 10 + m))
        var w = GlobalBatchWriter(partition: 7, dimension: d, monitoredCount: m)
        var out: [UInt8] = []
        w.trailingDeadLetters = UInt32(n)
        Self.write(events, into: &w, watermark: -5, out: &out)
        #expect(out.count == w.encodedSize && out.count % 8 == 0)
        try out.withUnsafeBytes { b in
            let r = try GlobalBatchReader(b)
            #expect(r.partition == 7 && r.count == n && r.dimension == d && r.monitoredCount == m && r.watermark == -5 && r.trailingDeadLetters == UInt32(n))
            #expect(Self.bits(Self.read(r)) == Self.bits(events))
        }
    }

    @Test func categoryNamesTravelWithTheBatchThatFirstUsesThem() throws {
        var w = GlobalBatchWriter(partition: 0, dimension: 0, monitoredCount: 1)
        let names: [(UInt16, UInt32, String)] = [(3, 0, "grocery"), (3, 1, ""), (5, 9, "<img src=x onerror=alert(1)>"), (3, 2, "caf\u{E9} \u{1F600}")]
        for (f, id, name) in names { var s = name; s.withUTF8 { w.addCategory(field: f, id: id, name: UnsafeRawBufferPointer($0)) } }
        var out: [UInt8] = []
        Self.write(Self.randomEvents(3, dimension: 0, monitored: 1, seed: 1), into: &w, out: &out)
        var seen: [(UInt16, UInt32, String)] = []
        try out.withUnsafeBytes { b in
            try GlobalBatchReader(b).forEachCategory { f, id, name in seen.append((f, id, String(decoding: name, as: UTF8.self))) }
        }
        #expect(seen.map(\.0) == names.map(\.0) && seen.map(\.1) == names.map(\.1) && seen.map(\.2) == names.map(\.2))
    }

    @Test func aResetWriterWritesWhatAFreshOneWrites() {
        let first = Self.randomEvents(40, dimension: 5, monitored: 3, seed: 2)
        let second = Self.randomEvents(9, dimension: 5, monitored: 3, seed: 3)
        var reused = GlobalBatchWriter(partition: 1, dimension: 5, monitoredCount: 3)
        var a: [UInt8] = [], b: [UInt8] = []
        Self.write(first, into: &reused, out: &a)
        reused.addCategory(field: 1, id: 1, name: UnsafeRawBufferPointer(start: nil, count: 0))
        reused.reset()
        Self.write(second, into: &reused, out: &a)
        var fresh = GlobalBatchWriter(partition: 1, dimension: 5, monitoredCount: 3)
        Self.write(second, into: &fresh, out: &b)
        #expect(a == b)
    }

    /// Every truncation of a valid batch, and a batch with bytes appended, is refused with a
    /// typed error (never a crash or a wrong read).
    @Test func everyTruncationIsRefused() throws {
        var w = GlobalBatchWriter(partition: 2, dimension: 2, monitoredCount: 2)
        w.addCategory(field: 0, id: 4, name: UnsafeRawBufferPointer(start: nil, count: 0))
        var out: [UInt8] = []
        Self.write(Self.randomEvents(5, dimension: 2, monitored: 2, seed: 4), into: &w, out: &out)
        for length in 0..<out.count {
            let cut = Array(out[0..<length])
            _ = cut.withUnsafeBytes { b in
                #expect(throws: GlobalBatchError.self, "length \(length) of \(out.count)") { _ = try GlobalBatchReader(b) }
            }
        }
        _ = (out + [0]).withUnsafeBytes { b in #expect(throws: GlobalBatchError.self) { _ = try GlobalBatchReader(b) } }
    }

    @Test func foreignBytesAndBrokenColumnsNameWhatIsWrong() throws {
        var w = GlobalBatchWriter(partition: 2, dimension: 1, monitoredCount: 0)
        var out: [UInt8] = []
        Self.write(Self.randomEvents(4, dimension: 1, monitored: 0, seed: 5).map { var e = $0; e.id = [1, 2]; e.inputs = [1.5]; return e }, into: &w, out: &out)
        var foreign = out
        foreign[0] = UInt8(ascii: "{")
        _ = foreign.withUnsafeBytes { b in
            #expect(throws: GlobalBatchError.notAGlobalBatch(magic: UInt32(littleEndian: b.loadUnaligned(as: UInt32.self)), version: 3)) {
                _ = try GlobalBatchReader(b)
            }
        }
        // The id ends follow the header, the five eight-byte columns of 4 events, their input
        // masks (8·4), starts (4·5, padded to 24), values (4 inputs of 1.5) and dead letters
        // (4·4); break the third end (make it smaller than the second).
        var broken = out
        let endsAt = GlobalBatchFormat.headerSize + 8 * 4 * 5 + 32 + 24 + 32 + 16
        broken[endsAt + 8] = 0
        broken.withUnsafeBytes { b in
            do {
                _ = try GlobalBatchReader(b)
                Issue.record("a decreasing id end was accepted")
            } catch let error as GlobalBatchError {
                guard case .invalid(let part, let offset, _) = error else { Issue.record("\(error)"); return }
                #expect(part == "id ends" && offset >= endsAt)
                #expect(error.description.contains("id ends"))
            } catch {
                Issue.record("untyped error \(error)")
            }
        }
    }

    /// The values of the fields the `by: global` windows read travel per event, exactly (raw
    /// slots: doubles' bit patterns, integers), with their presence; a version 1 batch (no such
    /// values, a 48-byte header) is still read.
    @Test(arguments: [(0, 1), (9, 1), (300, 3), (17, 64)])
    func globalWindowValuesAreReadBackExactly(n: Int, g: Int) throws {
        var rng = SeededGenerator(seed: UInt64(n * 100 + g))
        let events = Self.randomEvents(n, dimension: 2, monitored: 1, seed: UInt64(n + g))
        let values = (0..<n).map { _ in (0..<g).map { _ in Int64(bitPattern: rng.next()) } }
        let masks = (0..<n).map { _ in rng.next() & (g == 64 ? .max : (1 << UInt64(g)) - 1) }
        var w = GlobalBatchWriter(partition: 3, dimension: 2, monitoredCount: 1, windowValueCount: g)
        for (i, e) in events.enumerated() {
            e.inputs.withUnsafeBufferPointer { x in
                e.monitored.withUnsafeBufferPointer { v in
                    values[i].withUnsafeBufferPointer { gv in
                        w.append(eventTime: e.time, offset: e.offset, score: e.score, label: e.label, inputs: x, monitored: v,
                                 present: e.present, deadLettersBefore: e.dead, windowValues: gv, windowPresent: masks[i])
                    }
                }
            }
        }
        var out: [UInt8] = []
        w.encode(watermark: 5, into: &out)
        #expect(out.count == w.encodedSize && out.count % 8 == 0)
        try out.withUnsafeBytes { b in
            let r = try GlobalBatchReader(b)
            #expect(r.windowValueCount == g && r.count == n)
            for i in 0..<n {
                #expect(r.windowPresence(i) == masks[i])
                for j in 0..<g { #expect(r.windowValue(i, j) == (masks[i] & (1 << UInt64(j)) != 0 ? values[i][j] : 0)) }
                #expect(r.offset(i) == events[i].offset && r.score(i).bitPattern == events[i].score.bitPattern)
            }
        }
        // Every truncation is refused.
        for length in stride(from: 0, to: out.count, by: max(1, out.count / 97)) {
            _ = Array(out[0..<length]).withUnsafeBytes { b in #expect(throws: GlobalBatchError.self) { _ = try GlobalBatchReader(b) } }
        }
    }

    @Test func versionsOneAndTwoAreStillRead() throws {
        let events = Self.randomEvents(6, dimension: 2, monitored: 2, seed: 9)
        var w = GlobalBatchWriter(partition: 1, dimension: 2, monitoredCount: 2, windowValueCount: 0, version: 2)
        var out: [UInt8] = []
        Self.write(events, into: &w, watermark: 77, out: &out)
        // Version 2: dense inputs.
        #expect(out[4] == 2)
        try out.withUnsafeBytes { b in
            let r = try GlobalBatchReader(b)
            #expect(Self.bits(Self.read(r)) == Self.bits(events))
        }
        // Version 1: the same columns after a 48-byte header.
        var v1 = Array(out[0..<48]) + Array(out[56...])
        v1[4] = 1; v1[5] = 0
        let body = UInt64(v1.count - 48)
        for k in 0..<8 { v1[40 + k] = UInt8(truncatingIfNeeded: body >> (8 * UInt64(k))) }
        try v1.withUnsafeBytes { b in
            let r = try GlobalBatchReader(b)
            #expect(r.windowValueCount == 0 && r.watermark == 77 && r.windowPresence(0) == 0)
            #expect(Self.bits(Self.read(r)) == Self.bits(events))
        }
        var v6 = out
        v6[4] = 6
        _ = v6.withUnsafeBytes { b in #expect(throws: GlobalBatchError.notAGlobalBatch(magic: GlobalBatchFormat.magic, version: 6)) { _ = try GlobalBatchReader(b) } }
    }

    /// Version 5 (a topology with `model.label_topic`) adds each event's message timestamp (none
    /// kept as none) and the task's source position after the batch; every other column reads
    /// back as in version 3, which carries neither; any truncation is refused; version 4 (the
    /// timestamps without the position) is still read.
    @Test func version5CarriesMessageTimestampsAndTheSourcePosition() throws {
        let events = Self.randomEvents(40, dimension: 3, monitored: 2, seed: 12)
        let stamps: [Int64] = (0..<40).map { $0 % 9 == 4 ? .min : 1_700_000_000_000 + Int64($0) * 7 }
        var w = GlobalBatchWriter(partition: 2, dimension: 3, monitoredCount: 2, messageTimestamps: true)
        for (e, t) in zip(events, stamps) {
            e.inputs.withUnsafeBufferPointer { x in
                e.monitored.withUnsafeBufferPointer { v in
                    e.id.withUnsafeBytes { id in
                        w.append(eventTime: e.time, offset: e.offset, messageTimestamp: t, score: e.score, label: e.label, inputs: x,
                                 monitored: v, present: e.present, deadLettersBefore: e.dead, id: id)
                    }
                }
            }
        }
        var out: [UInt8] = []
        w.readThrough = 1_234_567
        w.encode(watermark: 3, into: &out)
        #expect(out[4] == 5 && out.count == w.encodedSize)
        try out.withUnsafeBytes { b in
            let r = try GlobalBatchReader(b)
            #expect(r.hasMessageTimestamps && r.readThrough == 1_234_567)
            #expect((0..<r.count).map { r.messageTimestamp($0) } == stamps.map { $0 == .min ? nil : $0 })
            #expect(Self.bits(Self.read(r)) == Self.bits(events))
        }
        for length in stride(from: 0, to: out.count, by: max(1, out.count / 61)) {
            _ = Array(out[0..<length]).withUnsafeBytes { b in #expect(throws: GlobalBatchError.self) { _ = try GlobalBatchReader(b) } }
        }
        // Unknown position (-1) reads as none; a reset clears it.
        w.reset()
        #expect(w.readThrough == -1)
        w.encode(watermark: 3, into: &out)
        try out.withUnsafeBytes { b in
            let r = try GlobalBatchReader(b)
            #expect(r.readThrough == nil)
        }
        // Version 3: neither timestamps nor position (8 bytes of header and 8 per event less).
        var v3 = GlobalBatchWriter(partition: 2, dimension: 3, monitoredCount: 2)
        var out3: [UInt8] = []
        v3.readThrough = 99
        Self.write(events, into: &v3, out: &out3)
        var v5: [UInt8] = []
        var w5 = GlobalBatchWriter(partition: 2, dimension: 3, monitoredCount: 2, messageTimestamps: true)
        Self.write(events, into: &w5, out: &v5)
        #expect(out3[4] == 3 && v5.count - out3.count == 8 * 40 + 8)
        try out3.withUnsafeBytes { b in
            let r = try GlobalBatchReader(b)
            #expect(!r.hasMessageTimestamps && r.messageTimestamp(0) == nil && r.readThrough == nil)
        }
        // Version 4 (2026-12-07: timestamps, a 56-byte header, no position) is still read.
        var v4 = GlobalBatchWriter(partition: 2, dimension: 3, monitoredCount: 2, windowValueCount: 0, version: 4)
        var out4: [UInt8] = []
        Self.write(events, into: &v4, out: &out4)
        #expect(out4[4] == 4 && v5.count - out4.count == 8)
        try out4.withUnsafeBytes { b in
            let r = try GlobalBatchReader(b)
            #expect(r.readThrough == nil && Self.bits(Self.read(r)) == Self.bits(events))
        }
    }

    /// Version 3 sends only the inputs that are not +0.0 (one-hot inputs are mostly zeros): the
    /// card-fraud shape (5 numbers and a one-hot of 20 merchants) takes 60 bytes per event for its
    /// inputs instead of 200, and reads back bit for bit (-0.0 travels as a value).
    @Test func sparseInputsAreSmallAndExact() throws {
        var g = SeededGenerator(seed: 21)
        let events = (0..<100).map { i in
            var x = (0..<5).map { _ in g.nextGaussian() } + [Double](repeating: 0, count: 20)
            x[5 + Int(g.next(below: 20))] = 1
            if i % 7 == 0 { x[2] = -0.0 }
            return Event(time: Int64(i), offset: Int64(i), score: 0.5, label: nil, inputs: x, monitored: [], present: 0, dead: 0, id: [])
        }
        var sparse = GlobalBatchWriter(partition: 0, dimension: 25, monitoredCount: 0)
        var dense = GlobalBatchWriter(partition: 0, dimension: 25, monitoredCount: 0, windowValueCount: 0, version: 2)
        var a: [UInt8] = [], b: [UInt8] = []
        Self.write(events, into: &sparse, out: &a)
        Self.write(events, into: &dense, out: &b)
        // Dense: 8·25 per event; sparse: one mask and 6 values per event, and 101 starts (4·101, padded to 408).
        #expect(b.count - a.count == 100 * (200 - 8 - 48) - 408)
        for bytes in [a, b] {
            try bytes.withUnsafeBytes { p in
                let r = try GlobalBatchReader(p)
                #expect(Self.bits(Self.read(r)) == Self.bits(events))
            }
        }
    }

    /// A version 3 batch whose input masks and starts disagree, or with a mask bit past the
    /// dimension, is refused at open with the part named (reads would leave the values column or
    /// the caller's inputs).
    @Test func brokenInputMasksAndStartsAreRefused() throws {
        var w = GlobalBatchWriter(partition: 0, dimension: 3, monitoredCount: 0)
        var out: [UInt8] = []
        Self.write(Self.randomEvents(4, dimension: 3, monitored: 0, seed: 8).map { var e = $0; e.inputs = [1, 0, 2]; return e }, into: &w, out: &out)
        let masksAt = GlobalBatchFormat.headerSize + 8 * 4 * 5
        func refusal(_ bytes: [UInt8]) -> (part: String, offset: Int)? {
            bytes.withUnsafeBytes { b -> (part: String, offset: Int)? in
                do {
                    _ = try GlobalBatchReader(b)
                    return nil
                } catch {
                    if let e = error as? GlobalBatchError, case .invalid(let part, let offset, _) = e { return (part, offset) }
                    return ("\(error)", -1)
                }
            }
        }
        #expect(refusal(out) == nil)
        var extra = out
        extra[masksAt + 8] |= 2          // event 1 claims input 1 too: its start no longer adds up
        #expect(refusal(extra)?.part == "input starts")
        var past = out
        past[masksAt + 16] |= 8          // event 2 claims input 3 of 3
        #expect(refusal(past)?.part == "input masks" && refusal(past)?.offset == masksAt + 16)
    }
}
