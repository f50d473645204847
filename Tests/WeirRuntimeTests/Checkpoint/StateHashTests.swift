import Foundation
import Testing
import WeirStats
@testable import WeirRuntime

/// The state hash of commit records version 4 (``stateHash(_:)``), and the records of versions
/// 1–3 (hashed with FNV-1a) that Weir still restores.
@Suite struct StateHashTests {
    /// Pinned: a changed hash makes every stored checkpoint unreadable (its records say version 4).
    @Test func valuesArePinned() {
        for (text, value) in Self.pinned {
            #expect(stateHash(Array(text.utf8)) == value, "\(text)")
            #expect(Self.reference(Array(text.utf8)) == value, "\(text)")
        }
    }

    static let pinned: [(String, UInt64)] = [
        ("", 0xE220_A839_7B1D_CDAF),
        ("a", 0x7813_CA91_D3DA_67D7),
        ("weir checkpoint state, 8-byte words and a tail", 0x9874_A0E7_A9C3_44AE),
    ]

    /// The hash as the doc comment defines it, written out with arithmetic on whole words built
    /// byte by byte (no unaligned loads).
    static func reference(_ bytes: [UInt8]) -> UInt64 {
        func rotl(_ x: UInt64, _ r: UInt64) -> UInt64 { (x << r) | (x >> (64 - r)) }
        func scramble(_ k: UInt64) -> UInt64 { rotl(k &* 0x87C3_7B91_1142_53D5, 31) &* 0x4CF5_AD43_2745_937F }
        var h: UInt64 = 0x9E37_79B9_7F4A_7C15
        var i = 0
        while i < bytes.count {
            var w: UInt64 = 0
            for j in 0..<8 where i + j < bytes.count { w |= UInt64(bytes[i + j]) << UInt64(8 * j) }
            h ^= scramble(w)
            if i + 8 <= bytes.count { h = rotl(h, 27) &* 5 &+ 0x52DC_E729 }
            i += 8
        }
        return SplitMix64.mix(h ^ UInt64(bytes.count))
    }

    /// Damage is seen: every single-bit flip of random states (lengths 0–80, so tails of every
    /// size), the same bit flipped in two words (which cancels in a word-wise FNV), and a trailing
    /// zero byte all change the hash; the implementation equals the reference on all of them.
    @Test func everyFlipChangesTheHash() {
        var rng = SplitMix64(seed: 17)
        for n in 0...80 {
            let bytes = (0..<n).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let h = stateHash(bytes)
            #expect(h == Self.reference(bytes))
            for i in 0..<n {
                for bit in 0..<8 {
                    var flipped = bytes
                    flipped[i] ^= 1 << bit
                    #expect(stateHash(flipped) != h, "n \(n), byte \(i), bit \(bit)")
                }
            }
            if n >= 16 {
                var two = bytes
                two[7] ^= 0x80; two[15] ^= 0x80  // bit 63 of words 0 and 1
                #expect(stateHash(two) != h)
            }
            #expect(stateHash(bytes + [0]) != h)
        }
    }

    /// A checkpoint whose commit record is version 3 (FNV-1a, as Weir wrote them until now) is
    /// assembled, checked and restored; one byte of its state changed is refused as damage.
    @Test func version3RecordsAreStillRead() throws {
        let c = Checkpoint(topology: "t", group: "g", epoch: 5, owner: "old", sourceTopic: "events",
                           offsets: [.init(partition: 0, offset: 42)], outputRecords: 3, wallTimeMs: 1,
                           state: (0..<5_000).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        func records(_ state: [UInt8]) -> [[UInt8]] {
            var out = CheckpointRecords.encode(Checkpoint(topology: c.topology, group: c.group, epoch: c.epoch, owner: c.owner,
                                                          sourceTopic: c.sourceTopic, offsets: c.offsets, outputRecords: c.outputRecords,
                                                          wallTimeMs: c.wallTimeMs, state: state), maxChunkBytes: 1_000).map(\.value)
            // The commit record as version 3 wrote it: the same fields, the FNV-1a of the (undamaged) state.
            return out.dropLast() + [Self.commitRecord(out.last!, asVersion: 3, hashing: c.state)]
        }
        var a = CheckpointAssembler(topology: "t", group: "g")
        for v in records(c.state) { try a.add(v) }
        #expect(a.latest == c)
        var damaged = c.state
        damaged[2_500] ^= 1
        var b = CheckpointAssembler(topology: "t", group: "g")
        for v in records(damaged) { try b.add(v) }
        #expect(b.latest == nil)  // its state's hash is not the one recorded
    }

    /// A commit record of the current version rewritten as `version` (1–3) wrote it: that version
    /// byte and the FNV-1a of `state` as the state hash (the fields of versions 1 and 2 are
    /// removed by the caller).
    static func commitRecord(_ current: [UInt8], asVersion version: UInt8, hashing state: [UInt8]) -> [UInt8] {
        var commit = current
        #expect(commit[4] == UInt8(CheckpointRecords.commitVersion) && commit[5] == 0)
        commit[4] = version
        var r = ByteReader(commit)
        _ = try? r.readHeader(tag: "WCKM", supportedVersions: 1...4)
        _ = try? r.readString(field: "topology"); _ = try? r.readString(field: "owner")
        _ = try? r.readUInt64(); _ = try? r.readUInt32(); _ = try? r.readUInt64()  // epoch, chunks, length
        let at = commit.count - r.remaining  // the hash
        withUnsafeBytes(of: fnv1a64(state).littleEndian) { for (i, b) in $0.enumerated() { commit[at + i] = b } }
        return commit
    }
}
