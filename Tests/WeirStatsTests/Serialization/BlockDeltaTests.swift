import Testing
import WeirStats
import WeirTestSupport

/// ``BlockDelta`` against its definition: reading the changes on the base gives the bytes back
/// whatever the edits (in place, longer, shorter, empty), the runs hold only blocks that differ,
/// and a base that is not the one written against is refused rather than misread.
@Suite struct BlockDeltaTests {
    @Test func readingTheChangesOnTheBaseGivesTheBytes() throws {
        var g = SeededGenerator(seed: 21)
        for round in 0..<300 {
            let n = Int.random(in: 0...5_000, using: &g)
            let base = (0..<n).map { _ in UInt8.random(in: 0...255, using: &g) }
            var bytes = base
            for _ in 0..<Int.random(in: 0...6, using: &g) where !bytes.isEmpty {
                let at = Int.random(in: 0..<bytes.count, using: &g)
                for k in at..<min(bytes.count, at + Int.random(in: 1...40, using: &g)) { bytes[k] &+= 1 }
            }
            switch round % 3 {
            case 1: bytes += (0..<Int.random(in: 1...300, using: &g)).map { _ in UInt8.random(in: 0...255, using: &g) }
            case 2: bytes.removeLast(min(bytes.count, Int.random(in: 0...300, using: &g)))
            default: break
            }
            let size = [1, 7, 64, 256][round % 4]
            var w = ByteWriter()
            BlockDelta.write(bytes, base: base, blockSize: size, into: &w)
            w.write(UInt8(0xAB))  // what follows is left for the caller
            var r = ByteReader(w.bytes)
            #expect(try BlockDelta.read(&r, base: base, field: "t") == bytes, "round \(round)")
            #expect(try r.readUInt8() == 0xAB && r.isAtEnd)
        }
    }

    @Test func onlyChangedBlocksAreWritten() throws {
        let base = (0..<64_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        var bytes = base
        bytes[100] &+= 1; bytes[40_000] &+= 1; bytes[40_001] &+= 1
        var w = ByteWriter()
        BlockDelta.write(bytes, base: base, blockSize: 64, into: &w)
        #expect(w.bytes.count < 2 * 64 + 16, "\(w.bytes.count) bytes for two changed blocks")
        var same = ByteWriter()
        BlockDelta.write(base, base: base, into: &same)
        #expect(same.bytes.count <= 6)
    }

    /// The flagged form: whole without a base, changes with one; changes need the reader's base,
    /// and an unknown flag is refused naming the field.
    @Test func flaggedIsWholeOrChanges() throws {
        let base = (0..<3_000).map { UInt8(truncatingIfNeeded: $0) }
        var bytes = base
        bytes[2_000] = 7
        var w = ByteWriter()
        BlockDelta.writeFlagged(bytes, base: nil, into: &w)
        BlockDelta.writeFlagged(bytes, base: base, into: &w)
        #expect(w.bytes[0] == 0 && w.bytes.count < 8 + 1 + bytes.count + 1 + 100)
        var r = ByteReader(w.bytes)
        #expect(try BlockDelta.readFlagged(&r, field: "m") { nil } == bytes)
        #expect(try BlockDelta.readFlagged(&r, field: "m") { base } == bytes)
        #expect(r.isAtEnd)
        var noBase = ByteReader(Array(w.bytes.suffix(w.bytes.count - 9 - bytes.count)))
        #expect(throws: SerializationError.invalidValue(field: "m", detail: "changes without their base")) {
            try BlockDelta.readFlagged(&noBase, field: "m") { nil }
        }
        var unknown = ByteReader([2])
        #expect(throws: SerializationError.invalidValue(field: "m", detail: "encoding 2")) { try BlockDelta.readFlagged(&unknown, field: "m") { base } }
    }

    @Test func aShorterBaseThanWrittenAgainstIsRefused() throws {
        let base = [UInt8](repeating: 1, count: 1_000)
        var bytes = base
        bytes[10] = 9
        var w = ByteWriter()
        BlockDelta.write(bytes, base: base, into: &w)
        var r = ByteReader(w.bytes)
        #expect(throws: SerializationError.self) { try BlockDelta.read(&r, base: Array(base.prefix(500)), field: "model") }
        var short = ByteReader(Array(w.bytes.dropLast(3)))
        #expect(throws: SerializationError.self) { try BlockDelta.read(&short, base: base, field: "model") }
    }
}
