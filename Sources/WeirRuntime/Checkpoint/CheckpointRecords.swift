import WeirStats

/// The records a checkpoint is written as: `chunkCount` chunk records, each holding
/// `maxChunkBytes` of the state packed with ``ZeroRunLength`` (at most ``ZeroRunLength/bound(_:)``
/// of it; the chunks concatenated are the packed state), then one commit record naming the
/// epoch, owner, chunk count, state length and hash, and the input offsets. A checkpoint exists
/// once its commit record does and every chunk before it (same owner and epoch) is present; a
/// crash between chunks leaves no commit record, so readers keep the previous complete checkpoint.
///
/// Keys (for log compaction on real clusters): chunk `i` of a full image is `state/<slot>/<i>`,
/// its commit record `commit`. Two slots, alternating from one full image to the next, keep the
/// chunks of the newest complete image while the next one is being written, so compaction never
/// removes them. (The slot is the writer's, ``KafkaChangelogStore``; without one, the epoch's
/// parity, which alternated only while every checkpoint was a full image: with increments between
/// them, two images in a row could share a slot, and one cut short by a crash could lose the
/// previous one's chunks to compaction. Readers do not look at keys.) An increment
/// (``Checkpoint/base`` set) has keys of its own, `inc/<e>/<i>` and `commit/inc/<e>`, so
/// compaction never removes an increment a chain needs; the writer deletes those of a superseded
/// chain with tombstones once the image after them is durable (``KafkaChangelogStore``).
///
/// A chain is a full image then increments, each on the checkpoint before it (``chain(_:location:)``).
public enum CheckpointRecords {
    /// Default chunk size: 512 KiB (well under Kafka's default 1 MiB message limit).
    public static let defaultMaxChunkBytes = 512 * 1024

    public struct Record: Sendable, Equatable {
        public var key: String
        public var value: [UInt8]
    }

    /// The chunk records then the commit record of `c`. Each slice of the state is packed
    /// straight into its record (no packed copy of the whole state: tens of MB at 1M keys).
    /// - Complexity: O(state size).
    /// - Parameter imageSlot: a full image's slot, 0 or 1 (nil: the epoch's parity).
    public static func encode(_ c: Checkpoint, maxChunkBytes: Int = defaultMaxChunkBytes, imageSlot: UInt64? = nil) -> [Record] {
        let size = max(1, maxChunkBytes)
        let count = max(1, (c.state.count + size - 1) / size)
        var out: [Record] = []
        out.reserveCapacity(count + 1)
        var packedLength = 0
        c.state.withUnsafeBufferPointer { state in
            for i in 0..<count {
                let lo = min(i * size, state.count), hi = min(lo + size, state.count)
                var w = ByteWriter(capacity: ZeroRunLength.bound(hi - lo) + 64 + c.owner.utf8.count)
                w.writeHeader(tag: "WCKC", version: 1)
                w.write(c.owner); w.write(c.epoch); w.write(UInt32(i)); w.write(UInt32(count))
                w.writeLengthPrefixed { chunk in
                    let before = chunk.bytes.count
                    ZeroRunLength.pack(UnsafeBufferPointer(rebasing: state[lo..<hi]), appendingTo: &chunk.bytes)
                    packedLength += chunk.bytes.count - before
                }
                out.append(Record(key: c.base == nil ? "state/\(imageSlot ?? c.epoch % 2)/\(i)" : incrementChunkKey(epoch: c.epoch, i), value: w.bytes))
            }
        }
        out.append(Record(key: c.base == nil ? "commit" : incrementCommitKey(epoch: c.epoch),
                          value: commitValue(c, chunks: count, packedLength: packedLength)))
        return out
    }

    /// Keys of an increment's records: chunk `i`, and its commit record.
    static func incrementChunkKey(epoch: UInt64, _ i: Int) -> String { "inc/\(epoch)/\(i)" }
    static func incrementCommitKey(epoch: UInt64) -> String { "commit/inc/\(epoch)" }

    /// Version of the commit record written: 2 adds the label topic and its offsets after the
    /// group (version 1, still read, has none); 3 adds the kind (0 full image, 1 increment) and
    /// the base epoch of an increment (versions 1 and 2 are full images); 4 has the same fields
    /// with the state hashed by ``stateHash(_:)`` instead of ``fnv1a64(_:)`` (versions 1–3, still
    /// read). Earlier Weir versions do not read version 4.
    public static let commitVersion: UInt16 = 4

    /// The state hash a commit record of `version` carries.
    static func hash(_ state: [UInt8], version: UInt16) -> UInt64 {
        version >= 4 ? stateHash(state) : fnv1a64(state)
    }

    static func commitValue(_ c: Checkpoint, chunks: Int, packedLength: Int) -> [UInt8] {
        var w = ByteWriter(capacity: 128 + c.labelTopic.utf8.count + 12 * (c.offsets.count + c.labelOffsets.count))
        w.writeHeader(tag: "WCKM", version: commitVersion)
        w.write(c.topology); w.write(c.owner); w.write(c.epoch)
        w.write(UInt32(chunks)); w.write(UInt64(c.state.count)); w.write(hash(c.state, version: commitVersion))
        w.write(UInt8(1)); w.write(UInt64(packedLength))  // state encoding: 1 = ZeroRunLength
        w.write(c.sourceTopic)
        w.write(UInt64(c.offsets.count))
        for o in c.offsets { w.write(o.partition); w.write(o.offset) }
        w.write(c.outputRecords); w.write(c.wallTimeMs)
        w.write(c.group)
        w.write(c.labelTopic)
        w.write(UInt64(c.labelOffsets.count))
        for o in c.labelOffsets { w.write(o.partition); w.write(o.offset) }
        w.write(UInt8(c.base == nil ? 0 : 1)); w.write(c.base ?? 0)
        return w.bytes
    }

    /// A decoded commit record (a checkpoint without its state).
    public struct Commit: Sendable, Equatable {
        public var checkpoint: Checkpoint
        public var chunks: Int
        public var stateLength: Int
        public var packedLength: Int
        public var stateHash: UInt64
        /// The commit record's version (it says how the state was hashed).
        public var version: UInt16 = CheckpointRecords.commitVersion

        /// The state from its packed bytes, checked against the lengths and hash.
        public func unpack(_ packed: [UInt8]) throws(CheckpointError) -> [UInt8] {
            guard packed.count == packedLength else {
                throw .incomplete(epoch: checkpoint.epoch, detail: "\(packed.count) state bytes, \(packedLength) expected")
            }
            let state = try ZeroRunLength.unpack(packed, expectedCount: stateLength)
            guard CheckpointRecords.hash(state, version: version) == stateHash else { throw .incomplete(epoch: checkpoint.epoch, detail: "state hash differs") }
            return state
        }
    }

    public static func isCommit<Bytes: Collection<UInt8>>(_ value: Bytes) -> Bool { value.prefix(4).elementsEqual("WCKM".utf8) }

    public static func decodeCommit(_ value: [UInt8]) throws(CheckpointError) -> Commit {
        do {
            var r = ByteReader(value)
            let version = try r.readHeader(tag: "WCKM", supportedVersions: 1...4)
            let topology = try r.readString(field: "topology"), owner = try r.readString(field: "owner")
            let epoch = try r.readUInt64()
            let chunks = Int(try r.readUInt32()), length = Int(try r.readUInt64()), hash = try r.readUInt64()
            let encoding = try r.readUInt8(), packedLength = Int(try r.readUInt64())
            guard encoding == 1, length >= 0, packedLength >= 0 else {
                throw SerializationError.invalidValue(field: "commit", detail: "state encoding \(encoding), lengths \(length)/\(packedLength)")
            }
            let source = try r.readString(field: "sourceTopic")
            let n = try r.readCount(field: "offsets", limit: r.remaining / 12)
            var offsets: [Checkpoint.SourceOffset] = []
            for _ in 0..<n { offsets.append(Checkpoint.SourceOffset(partition: try r.readInt32(), offset: try r.readInt64())) }
            let outputs = try r.readUInt64(), wall = try r.readInt64()
            let group = try r.readString(field: "group")
            var labelTopic = ""
            var labelOffsets: [Checkpoint.SourceOffset] = []
            if version >= 2 {
                labelTopic = try r.readString(field: "labelTopic")
                let m = try r.readCount(field: "labelOffsets", limit: r.remaining / 12)
                for _ in 0..<m { labelOffsets.append(Checkpoint.SourceOffset(partition: try r.readInt32(), offset: try r.readInt64())) }
            }
            var base: UInt64?
            if version >= 3 {
                let kind = try r.readUInt8(), b = try r.readUInt64()
                guard kind <= 1 else { throw SerializationError.invalidValue(field: "commit.kind", detail: "\(kind)") }
                if kind == 1 { base = b }
            }
            guard r.isAtEnd, chunks >= 1 else { throw SerializationError.invalidValue(field: "commit", detail: "\(chunks) chunks, \(r.remaining) trailing bytes") }
            return Commit(checkpoint: Checkpoint(topology: topology, group: group, epoch: epoch, owner: owner, sourceTopic: source, offsets: offsets,
                                                 labelTopic: labelTopic, labelOffsets: labelOffsets, outputRecords: outputs, wallTimeMs: wall, state: [],
                                                 base: base),
                          chunks: chunks, stateLength: length, packedLength: packedLength, stateHash: hash, version: version)
        } catch let e as CheckpointError {
            throw e
        } catch {
            throw .damaged(what: "commit record", detail: "\(error)")
        }
    }

    /// A decoded chunk record.
    public struct Chunk: Sendable {
        public var owner: String
        public var epoch: UInt64
        public var index: Int
        public var count: Int
        public var bytes: [UInt8]
    }

    /// The owner and epoch of a chunk record, from its first bytes only (nil: not a chunk record).
    public static func chunkIdentity(_ value: UnsafeRawBufferPointer) -> (owner: String, epoch: UInt64)? {
        var r = ByteReader(Array(value.prefix(4096)))
        guard (try? r.readHeader(tag: "WCKC", supportedVersions: 1...1)) != nil, let owner = try? r.readString(field: "owner"),
              let epoch = try? r.readUInt64() else { return nil }
        return (owner, epoch)
    }

    public static func decodeChunk(_ value: [UInt8]) throws(CheckpointError) -> Chunk {
        do {
            var r = ByteReader(value)
            try r.readHeader(tag: "WCKC", supportedVersions: 1...1)
            let owner = try r.readString(field: "owner"), epoch = try r.readUInt64()
            let index = Int(try r.readUInt32()), count = Int(try r.readUInt32())
            let bytes = try r.readBytes(field: "chunk")
            guard r.isAtEnd, index < count else { throw SerializationError.invalidValue(field: "chunk", detail: "index \(index) of \(count)") }
            return Chunk(owner: owner, epoch: epoch, index: index, count: count, bytes: bytes)
        } catch let e as CheckpointError {
            throw e
        } catch {
            throw .damaged(what: "chunk record", detail: "\(error)")
        }
    }
}

extension CheckpointRecords {
    /// The chain that restores the newest usable checkpoint of `items` (complete checkpoints in
    /// store order: commit record and packed state): its full image, then each increment on the
    /// one before, oldest first. A newest checkpoint whose state is damaged is skipped for the one
    /// before (as with full images only); a chain whose base is not among `items` is refused.
    /// - Throws: ``CheckpointError/baseMissing(epoch:base:location:)`` naming the increment and
    ///   its missing base; ``CheckpointError/incomplete(epoch:detail:)`` for a damaged link.
    /// - Complexity: unpacks the chain's states.
    public static func chain(_ items: [(commit: Commit, packed: [UInt8])], location: String) throws(CheckpointError) -> [Checkpoint] {
        var failure: CheckpointError?
        var i = items.count - 1
        while i >= 0 {
            var head = items[i].commit.checkpoint
            do { head.state = try items[i].commit.unpack(items[i].packed) } catch { failure = error; i -= 1; continue }
            var out = [head]
            var j = i - 1
            while let want = out[0].base {
                // The base by the increment's owner if it wrote one of that epoch, else the newest
                // of that epoch (the checkpoint its owner restored): an old owner's write of the same
                // epoch, delivered late, must not become another owner's base.
                let owner = out[0].owner
                let same = j < 0 ? nil : (0...j).reversed().first { items[$0].commit.checkpoint.epoch == want && items[$0].commit.checkpoint.owner == owner }
                j = same ?? j
                while j >= 0 && items[j].commit.checkpoint.epoch != want { j -= 1 }
                guard j >= 0 else { throw .baseMissing(epoch: out[0].epoch, base: want, location: location) }
                var c = items[j].commit.checkpoint
                c.state = try items[j].commit.unpack(items[j].packed)
                out.insert(c, at: 0)
                j -= 1
            }
            return out
        }
        if let failure { throw failure }
        return []
    }
}

/// Rebuilds the newest complete checkpoint from changelog records read in order.
///
/// Keeps the chunks of checkpoints being assembled (only the newest per owner) and the newest
/// complete checkpoint. A commit record whose chunks are missing or whose hash differs is
/// remembered as `lastIncomplete` and skipped.
/// - Complexity: O(bytes read); memory about two checkpoints.
public struct CheckpointAssembler {
    private struct Pending { var epoch: UInt64; var chunks: [[UInt8]?] }
    private var pending: [String: Pending] = [:]
    /// The newest complete checkpoints (commit record and packed state), oldest first. They are
    /// unpacked (and their hash checked) only when ``latest`` is read, newest first: a changelog
    /// holding many checkpoints (the embedded broker does not compact) costs one unpack, not one
    /// per checkpoint.
    /// Also every increment after the oldest of them (the chains they start).
    private var candidates: [(commit: CheckpointRecords.Commit, packed: [UInt8])] = []
    private static let keptCandidates = 3
    private var incomplete: CheckpointError?
    /// Every commit record seen, in order (without state).
    public private(set) var commits: [Checkpoint] = []
    public let topology: String
    public let group: String

    public init(topology: String, group: String = "") {
        self.topology = topology
        self.group = group
    }

    /// The newest complete checkpoint whose state unpacks and matches its hash (nil: none).
    /// - Complexity: unpacks one checkpoint, more only when the newest are damaged.
    public var latest: Checkpoint? { resolve().checkpoint }

    /// The chain restoring the newest checkpoint (see ``CheckpointRecords/chain(_:location:)``);
    /// empty when there is none.
    /// - Throws: ``CheckpointError`` when the newest chain cannot be restored, or when the newest
    ///   checkpoint's chunks were missing and no checkpoint is complete.
    public func chain(location: String) throws(CheckpointError) -> [Checkpoint] {
        let out = try CheckpointRecords.chain(candidates, location: location)
        if out.isEmpty, let incomplete { throw incomplete }
        return out
    }

    /// Why the newest checkpoint could not be used: chunks missing before a commit record, or
    /// a state that does not match its commit record.
    public var lastIncomplete: CheckpointError? { resolve().error }

    private func resolve() -> (checkpoint: Checkpoint?, error: CheckpointError?) {
        var failure = incomplete
        for candidate in candidates.reversed() {
            do {
                var cp = candidate.commit.checkpoint
                cp.state = try candidate.commit.unpack(candidate.packed)
                return (cp, failure)
            } catch {
                failure = error
            }
        }
        return (nil, failure)
    }

    public mutating func add(_ value: [UInt8]) throws(CheckpointError) {
        if CheckpointRecords.isCommit(value) {
            let c = try CheckpointRecords.decodeCommit(value)
            guard c.checkpoint.topology == topology, c.checkpoint.group == group else { return }
            commits.append(c.checkpoint)
            guard let p = pending[c.checkpoint.owner], p.epoch == c.checkpoint.epoch, p.chunks.count == c.chunks,
                  p.chunks.allSatisfy({ $0 != nil }) else {
                incomplete = .incomplete(epoch: c.checkpoint.epoch, detail: "chunks missing before its commit record")
                return
            }
            var packed: [UInt8] = []
            packed.reserveCapacity(c.packedLength)
            for ch in p.chunks { packed.append(contentsOf: ch!) }
            pending[c.checkpoint.owner] = nil
            candidates.append((c, packed))
            let fulls = candidates.indices.filter { candidates[$0].commit.checkpoint.base == nil }
            if fulls.count > Self.keptCandidates { candidates.removeFirst(fulls[fulls.count - Self.keptCandidates]) }
        } else {
            let ch = try CheckpointRecords.decodeChunk(value)
            var p = pending[ch.owner] ?? Pending(epoch: ch.epoch, chunks: [])
            if p.epoch != ch.epoch || p.chunks.count != ch.count { p = Pending(epoch: ch.epoch, chunks: Array(repeating: nil, count: ch.count)) }
            p.chunks[ch.index] = ch.bytes
            pending[ch.owner] = p
        }
    }
}
