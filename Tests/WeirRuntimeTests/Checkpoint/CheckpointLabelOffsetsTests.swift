import Foundation
import Testing
@testable import WeirRuntime

/// Commit records carry the label topic's offsets (version 2) and still read version 1.
@Suite struct CheckpointLabelOffsetsTests {
    static func checkpoint(epoch: UInt64) -> Checkpoint {
        Checkpoint(topology: "t", group: "g", epoch: epoch, owner: "a", sourceTopic: "in",
                   offsets: [.init(partition: 1, offset: 20), .init(partition: 0, offset: 10)],
                   labelTopic: "labels", labelOffsets: [.init(partition: 2, offset: 7), .init(partition: 0, offset: 3)],
                   outputRecords: 4, wallTimeMs: 99, state: (0..<300).map { UInt8(truncatingIfNeeded: $0 * 7) })
    }

    /// Label offsets go through the changelog records and the directory store, sorted by partition.
    @Test func labelOffsetsRoundTrip() throws {
        let c = Self.checkpoint(epoch: 3)
        #expect(c.labelOffsets.map(\.partition) == [0, 2])
        #expect(c.labelOffset(of: 2) == 7 && c.labelOffset(of: 1) == nil)
        var a = CheckpointAssembler(topology: "t", group: "g")
        for r in CheckpointRecords.encode(c, maxChunkBytes: 100) { try a.add(r.value) }
        #expect(a.latest == c)
        let commit = try #require(CheckpointRecords.encode(c).last)
        #expect(commit.value[4] == UInt8(CheckpointRecords.commitVersion) && CheckpointRecords.commitVersion == 4)

        let dir = tempDir()
        let store = try DirectoryCheckpointStore(directory: dir, topology: "t", group: "g")
        try store.save(c)
        #expect(try DirectoryCheckpointStore(directory: dir, topology: "t", group: "g").load() == c)
        // A truncated label section is damage, not a crash.
        var bytes = CheckpointRecords.encode(c).last!.value
        bytes.removeLast(5)
        #expect(throws: CheckpointError.self) { try CheckpointRecords.decodeCommit(bytes) }
    }

    /// A commit record of the code before label topics (version 1, frozen in
    /// ``LabelTopicRunnerTests/commitV1(_:packedLength:)``) decodes with no label topic or offsets,
    /// and its state assembles.
    @Test func versionOneCommitRecordsStillDecode() throws {
        var c = Self.checkpoint(epoch: 5)
        c.labelTopic = ""
        c.labelOffsets = []
        let packed = ZeroRunLength.pack(c.state)
        let v1 = LabelTopicRunnerTests.commitV1(c, packedLength: packed.count)
        #expect(v1[4] == 1)
        let decoded = try CheckpointRecords.decodeCommit(v1)
        var expected = c
        expected.state = []
        #expect(decoded.checkpoint == expected)
        // Assembled with its chunk (chunk records are unchanged: version 1).
        let chunk = CheckpointRecords.encode(c)[0].value
        var a = CheckpointAssembler(topology: "t", group: "g")
        try a.add(chunk)
        try a.add(v1)
        #expect(a.latest == c)
    }
}
