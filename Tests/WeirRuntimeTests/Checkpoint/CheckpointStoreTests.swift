import Foundation
import Testing
import WeirStats
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

/// The zero-run codec against its definition, computed another way: split the input into runs of
/// zero and non-zero bytes; a group's literals take runs up to a zero run of at least 4 bytes (or
/// a zero run that ends the input), which the group then skips.
@Suite struct ZeroRunLengthTests {
    private func reference(_ input: [UInt8]) -> [UInt8] {
        var runs: [(zero: Bool, bytes: ArraySlice<UInt8>)] = []
        var i = 0
        while i < input.count {
            var j = i
            while j < input.count && (input[j] == 0) == (input[i] == 0) { j += 1 }
            runs.append((input[i] == 0, input[i..<j]))
            i = j
        }
        func varint(_ v: Int) -> [UInt8] {
            var v = v, b: [UInt8] = []
            repeat { b.append(UInt8(v & 0x7F) | (v >= 0x80 ? 0x80 : 0)); v >>= 7 } while v > 0
            return b
        }
        var out: [UInt8] = [], literal: [UInt8] = []
        for (n, r) in runs.enumerated() {
            if r.zero && (r.bytes.count >= 4 || n == runs.count - 1) {
                out += varint(literal.count) + literal + varint(r.bytes.count)
                literal = []
            } else {
                literal += r.bytes
            }
        }
        if !literal.isEmpty { out += varint(literal.count) + literal + varint(0) }
        return out
    }

    @Test func packEqualsTheDefinitionAndUnpacksExactly() throws {
        var g = SplitMix64(seed: 99)
        for round in 0..<400 {
            let n = Int(g.next(below: round < 300 ? 300 : 70_000))
            // zero-heavy data with runs of every length, as serialized state has
            var bytes = [UInt8](repeating: 0, count: n)
            var k = 0
            while k < n {
                let len = Int(g.next(below: 24)) + 1
                let zero = g.next(below: 3) != 0
                for x in k..<min(n, k + len) { bytes[x] = zero ? 0 : UInt8(truncatingIfNeeded: g.next() | 1) }
                k += len
            }
            let packed = ZeroRunLength.pack(bytes)
            #expect(packed == reference(bytes), "round \(round), \(n) bytes")
            #expect(try ZeroRunLength.unpack(packed, expectedCount: n) == bytes)
        }
        // a long literal (varints of several bytes) and a long zero run
        let long = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 % 251 + 1) } + [UInt8](repeating: 0, count: 200_000) + [9]
        #expect(ZeroRunLength.pack(long) == reference(long))
        #expect(try ZeroRunLength.unpack(ZeroRunLength.pack(long), expectedCount: long.count) == long)
    }

    /// Packings of consecutive slices, concatenated, unpack to the whole (what the chunk records
    /// rely on); no packing exceeds its bound, even of incompressible bytes.
    @Test func slicesPackedApartUnpackAsTheWhole() throws {
        var g = SplitMix64(seed: 7)
        for round in 0..<200 {
            let n = Int(g.next(below: 20_000))
            var bytes = [UInt8](repeating: 0, count: n)
            var k = 0
            while k < n {
                let len = Int(g.next(below: 30)) + 1
                let zero = g.next(below: 2) == 0
                for x in k..<min(n, k + len) { bytes[x] = zero ? 0 : UInt8(truncatingIfNeeded: g.next() | 1) }
                k += len
            }
            let slice = Int(g.next(below: 700)) + 1
            var packed: [UInt8] = []
            bytes.withUnsafeBufferPointer { p in
                var lo = 0
                while lo < n {
                    let hi = min(lo + slice, n), before = packed.count
                    ZeroRunLength.pack(UnsafeBufferPointer(rebasing: p[lo..<hi]), appendingTo: &packed)
                    #expect(packed.count - before <= ZeroRunLength.bound(hi - lo))
                    lo = hi
                }
            }
            #expect(try ZeroRunLength.unpack(packed, expectedCount: n) == bytes, "round \(round): \(n) bytes in slices of \(slice)")
        }
        let noise = (0..<100_000).map { _ in UInt8(truncatingIfNeeded: g.next() | 1) }
        #expect(ZeroRunLength.pack(noise).count <= ZeroRunLength.bound(noise.count))
        // the worst case: literal runs of 2^21 bytes (4-byte counts) each ended by 4 zeros
        let run = [UInt8](repeating: 9, count: 1 << 21) + [0, 0, 0, 0]
        let worst = Array([[UInt8]](repeating: run, count: 6).joined())
        let packed = ZeroRunLength.pack(worst)
        #expect(packed.count > worst.count, "each group grows the output by a byte")
        #expect(packed.count <= ZeroRunLength.bound(worst.count))
    }

    /// A checkpoint's chunk records each carry one slice of the state packed (so none is larger
    /// than the slice's bound plus the record's fields), and assemble to the state exactly.
    @Test func chunkRecordsAreBoundedAndAssembleExactly() throws {
        var g = SplitMix64(seed: 3)
        let state = (0..<50_000).map { i in i % 7 < 3 ? 0 : UInt8(truncatingIfNeeded: g.next() | 1) }
        let c = Checkpoint(topology: "t", epoch: 4, owner: "me", sourceTopic: "in", offsets: [.init(partition: 0, offset: 9)], state: state)
        let records = CheckpointRecords.encode(c, maxChunkBytes: 4_096)
        #expect(records.count == 13 + 1, "50,000 bytes in slices of 4,096, then the commit")
        for r in records.dropLast() { #expect(r.value.count <= ZeroRunLength.bound(4_096) + 64) }
        var a = CheckpointAssembler(topology: "t")
        for r in records { try a.add(r.value) }
        #expect(a.latest?.state == state)
        #expect(a.latest?.epoch == 4)
    }
}
