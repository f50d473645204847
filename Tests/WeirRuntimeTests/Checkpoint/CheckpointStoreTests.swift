import Foundation
import Testing
@testable import WeirRuntime

@Suite struct CheckpointStoreTests {
    static func checkpoint(epoch: UInt64, owner: String = "a", size: Int) -> Checkpoint {
        var state = [UInt8](repeating: 0, count: size)
        for i in 0..<size { state[i] = UInt8(truncatingIfNeeded: (i &* 31) ^ Int(epoch)) }
        return Checkpoint(topology: "t", epoch: epoch, owner: owner, sourceTopic: "in",
                          offsets: [.init(partition: 1, offset: 20), .init(partition: 0, offset: 10)],
                          outputRecords: 7, wallTimeMs: 123, state: state)
    }

    /// Chunks are bounded; the assembler rebuilds the newest complete checkpoint and skips one
    /// whose chunks are missing (a crash mid-write, or retention).
    @Test func chunksAssembleAndIncompleteOnesAreSkipped() throws {
        let c1 = Self.checkpoint(epoch: 1, size: 2500)
        let r1 = CheckpointRecords.encode(c1, maxChunkBytes: 1000)
        #expect(r1.count == 4)
        #expect(r1.dropLast().allSatisfy { $0.value.count <= 1000 + 64 && $0.key.hasPrefix("state/1/") })
        #expect(r1.last!.key == "commit")
        let c2 = Self.checkpoint(epoch: 2, size: 1800)
        let r2 = CheckpointRecords.encode(c2, maxChunkBytes: 1000)
        let c3 = Self.checkpoint(epoch: 3, size: 1800)
        let r3 = CheckpointRecords.encode(c3, maxChunkBytes: 1000)

        var a = CheckpointAssembler(topology: "t")
        for r in r1 + r2 { try a.add(r.value) }
        #expect(a.latest == c2)
        #expect(a.latest?.offsets.map(\.partition) == [0, 1])
        // Epoch 3 lost its first chunk: epoch 2 stays the newest complete one.
        for r in r3.dropFirst() { try a.add(r.value) }
        #expect(a.latest == c2)
        #expect(a.lastIncomplete != nil)
        // A crash before the commit record: still epoch 2.
        var b = CheckpointAssembler(topology: "t")
        for r in r1 + r2 + r3.dropLast() { try b.add(r.value) }
        #expect(b.latest == c2)
        // Another topology's records are ignored.
        var other = Self.checkpoint(epoch: 9, size: 10)
        other.topology = "u"
        for r in CheckpointRecords.encode(other) { try b.add(r.value) }
        #expect(b.latest == c2)
        // So are another consumer group's (each group keeps its own checkpoints).
        var otherGroup = Self.checkpoint(epoch: 10, size: 10)
        otherGroup.group = "g2"
        for r in CheckpointRecords.encode(otherGroup) { try b.add(r.value) }
        #expect(b.latest == c2)
        var g2 = CheckpointAssembler(topology: "t", group: "g2")
        for r in CheckpointRecords.encode(otherGroup) { try g2.add(r.value) }
        #expect(g2.latest == otherGroup)
        // The newest checkpoint's state does not match its hash (its bytes changed after it was
        // written): the previous complete checkpoint is used, and the damage is reported.
        var damagedValues = r3.map(\.value)
        damagedValues[0][damagedValues[0].count - 1] ^= 0xFF
        var d = CheckpointAssembler(topology: "t")
        for v in r2.map(\.value) + damagedValues { try d.add(v) }
        #expect(d.latest == c2)
        #expect(d.lastIncomplete != nil)
        // A damaged record is an error, not a crash.
        #expect(throws: CheckpointError.self) { try b.add(Array(r2[0].value.prefix(9))) }
        // An empty state is one (empty) chunk.
        let empty = Self.checkpoint(epoch: 4, size: 0)
        var e = CheckpointAssembler(topology: "t")
        for r in CheckpointRecords.encode(empty) { try e.add(r.value) }
        #expect(e.latest == empty)
    }

    @Test func directoryStoreRoundTripsAndFencesOtherOwners() throws {
        let dir = tempDir()
        let store = try DirectoryCheckpointStore(directory: dir, topology: "t")
        #expect(try store.load() == nil)
        let c = Self.checkpoint(epoch: 5, size: 3000)
        try store.checkOwnership(owner: "a", epoch: 0, partitions: [0])
        try store.save(c)
        try store.saved(c)
        #expect(try DirectoryCheckpointStore(directory: dir, topology: "t").load() == c)
        // A second instance takes over and writes a newer checkpoint: the first is fenced.
        let other = try DirectoryCheckpointStore(directory: dir, topology: "t")
        _ = try other.load()
        let c2 = Self.checkpoint(epoch: 6, owner: "b", size: 10)
        try other.save(c2)
        try other.saved(c2)
        #expect(throws: CheckpointError.self) { try store.checkOwnership(owner: "a", epoch: 5, partitions: [0]) }
        try other.checkOwnership(owner: "b", epoch: 6, partitions: [0])
        // A damaged file is reported, not restored.
        let path = dir + "/t.checkpoint"
        var bytes = [UInt8](FileManager.default.contents(atPath: path)!)
        bytes[bytes.count - 1] ^= 0xFF
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        #expect(throws: CheckpointError.self) { try DirectoryCheckpointStore(directory: dir, topology: "t").load() }
    }

    /// The zero-run codec is exact on random mixes of zero runs and bytes, and shrinks sparse state.
    @Test func zeroRunLengthRoundTrips() throws {
        var rng = SystemRandomNumberGenerator()
        for trial in 0..<200 {
            var bytes: [UInt8] = []
            while bytes.count < trial * 13 {
                if Bool.random(using: &rng) {
                    bytes += [UInt8](repeating: 0, count: Int.random(in: 1...40, using: &rng))
                } else {
                    bytes += (0..<Int.random(in: 1...20, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
                }
            }
            let packed = ZeroRunLength.pack(bytes)
            #expect(try ZeroRunLength.unpack(packed, expectedCount: bytes.count) == bytes)
            if !bytes.isEmpty { #expect(throws: CheckpointError.self) { try ZeroRunLength.unpack(packed, expectedCount: bytes.count - 1) } }
        }
        var sparse = [UInt8](repeating: 0, count: 1 << 20)
        for i in stride(from: 0, to: sparse.count, by: 4096) { sparse[i] = 7 }
        let packed = ZeroRunLength.pack(sparse)
        #expect(packed.count < 2000)
        #expect(try ZeroRunLength.unpack(packed, expectedCount: sparse.count) == sparse)
        #expect(ZeroRunLength.pack([]).isEmpty)
        #expect(try ZeroRunLength.unpack([], expectedCount: 0) == [])
    }
}
