import Testing
import WeirModel
import WeirStats

/// The training buffer's checkpoint form: v2 writes the ring in slot order, so an append changes
/// one slot's bytes and leaves the rest in place (what the model's increments rely on); it
/// restores exactly, full or not, and v1 bytes (oldest first) still restore to the same events.
@Suite struct LabelledBufferTests {
    let layout = FeatureLayout(numericCount: 3)

    func events(_ b: LabelledBuffer) -> [[Double]] {
        var x = ModelInput(layout: layout), out: [[Double]] = []
        b.forEach(since: .min, scratch: &x) { x, y, t in out.append([x.numeric[0], x.numeric[1], x.numeric[2], y, Double(t)]) }
        return out
    }

    func filled(_ n: Int, capacity: Int = 50) -> LabelledBuffer {
        var b = LabelledBuffer(layout: layout, capacity: capacity)
        var x = ModelInput(layout: layout)
        for i in 0..<n {
            for k in 0..<3 { x.setNumeric(k, Double(i * 3 + k) / 7) }
            b.append(x, label: Double(i % 2), time: Int64(1000 + i))
        }
        return b
    }

    @Test(arguments: [0, 1, 30, 50, 51, 137])
    func restoresExactly(count: Int) throws {
        let b = filled(count)
        let bytes = b.serialized()
        let r = try LabelledBuffer(serialized: bytes)
        #expect(events(r) == events(b))
        #expect(r.serialized() == bytes)
    }

    @Test func anAppendChangesOneSlotOfTheBytes() throws {
        let before = filled(137).serialized()
        var b = filled(137)
        var x = ModelInput(layout: layout)
        x.setNumeric(0, 9); x.setNumeric(1, 9); x.setNumeric(2, 9)
        b.append(x, label: 1, time: 5000)
        let after = b.serialized()
        #expect(after.count == before.count)
        let differing = zip(before, after).enumerated().filter { $0.element.0 != $0.element.1 }.map(\.offset)
        // one event: label, time, 3 values and the sparse count (48 bytes), plus the start
        #expect(differing.count > 0 && differing.count <= 48 + 8)
    }

    @Test func version1BytesStillRestore() throws {
        let b = filled(137)
        var w = ByteWriter()
        w.writeHeader(tag: "WMLB", version: 1)
        w.write(3); w.write(0); w.write(0)  // the layout: 3 numeric, no sparse part
        w.write(50); w.write(50)            // capacity, count
        for e in events(b) {
            w.write(e[3]); w.write(Int64(e[4]))
            w.write(e[0]); w.write(e[1]); w.write(e[2]); w.write(0)
        }
        let r = try LabelledBuffer(serialized: w.bytes)
        #expect(events(r) == events(b))
    }
}
