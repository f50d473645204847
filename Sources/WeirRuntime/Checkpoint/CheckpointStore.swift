import Foundation

/// Where checkpoints live: a Kafka changelog topic (``KafkaChangelogStore``) or a local
/// directory (``DirectoryCheckpointStore``).
///
/// `save` may only queue the write (Kafka): the caller makes it durable (producer flush, or the
/// transaction commit) before committing source offsets. `checkOwnership` throws
/// ``CheckpointError/fenced(topology:ownEpoch:newerOwner:newerEpoch:)`` when another instance
/// wrote a checkpoint of this topology (covering one of `partitions`) since this one last read or
/// wrote the store.
public protocol CheckpointStore: AnyObject {
    /// The newest complete checkpoint, or nil if there is none. Remembers the store's position
    /// for ``checkOwnership(owner:epoch:partitions:)``.
    func load() throws -> Checkpoint?
    func save(_ checkpoint: Checkpoint) throws
    /// Called after a save became durable.
    func saved(_ checkpoint: Checkpoint) throws
    func checkOwnership(owner: String, epoch: UInt64, partitions: Set<Int32>) throws
    /// Human-readable location (for logs).
    var location: String { get }
}

/// Checkpoints as files in a directory: `<dir>/<topology>.checkpoint` (`<topology>.<group>.checkpoint`
/// when a group is given), replaced atomically
/// (write to a temporary file, fsync, rename). The file holds the commit record then the state,
/// so it is checked (length, hash) on load like the Kafka form.
public final class DirectoryCheckpointStore: CheckpointStore {
    public let directory: String
    public let topology: String
    public let group: String
    private var lastSeen: (owner: String, epoch: UInt64)?

    public init(directory: String, topology: String, group: String = "") throws {
        self.directory = directory
        self.topology = topology
        self.group = group
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw CheckpointError.io("cannot create \(directory): \(error)")
        }
    }

    public var location: String { path }
    var path: String { directory + "/" + topology + (group.isEmpty ? "" : "." + group) + ".checkpoint" }

    public func load() throws -> Checkpoint? {
        guard let data = FileManager.default.contents(atPath: path) else { lastSeen = nil; return nil }
        let bytes = [UInt8](data)
        guard bytes.count >= 8 else { throw CheckpointError.damaged(what: "file \(path)", detail: "\(bytes.count) bytes") }
        var n = 0
        for i in 0..<8 { n |= Int(bytes[i]) << (8 * i) }
        guard n >= 0, n <= bytes.count - 8 else { throw CheckpointError.damaged(what: "file \(path)", detail: "commit length \(n)") }
        let c = try CheckpointRecords.decodeCommit(Array(bytes[8..<(8 + n)]))
        var cp = c.checkpoint
        do {
            cp.state = try c.unpack(Array(bytes[(8 + n)...]))
        } catch {
            throw CheckpointError.damaged(what: "file \(path)", detail: error.description)
        }
        lastSeen = (cp.owner, cp.epoch)
        return cp
    }

    public func save(_ c: Checkpoint) throws {
        let packed = ZeroRunLength.pack(c.state)
        let commit = CheckpointRecords.commitValue(c, chunks: 1, packedLength: packed.count)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(8 + commit.count + packed.count)
        for i in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: commit.count >> (8 * i))) }
        bytes += commit
        bytes += packed
        let tmp = path + ".tmp"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw CheckpointError.io("cannot write \(tmp): errno \(errno)") }
        var written = 0
        let ok: Bool = bytes.withUnsafeBytes { p in
            while written < p.count {
                let r = write(fd, p.baseAddress! + written, p.count - written)
                if r <= 0 { return false }
                written += r
            }
            return fsync(fd) == 0
        }
        close(fd)
        guard ok, rename(tmp, path) == 0 else { throw CheckpointError.io("cannot write \(path): errno \(errno)") }
    }

    public func saved(_ c: Checkpoint) throws { lastSeen = (c.owner, c.epoch) }

    public func checkOwnership(owner: String, epoch: UInt64, partitions: Set<Int32>) throws {
        guard let data = FileManager.default.contents(atPath: path), data.count >= 8 else { return }
        let bytes = [UInt8](data)
        var n = 0
        for i in 0..<8 { n |= Int(bytes[i]) << (8 * i) }
        guard n >= 0, n <= bytes.count - 8, let c = try? CheckpointRecords.decodeCommit(Array(bytes[8..<(8 + n)])) else { return }
        if let seen = lastSeen, seen.owner == c.checkpoint.owner, seen.epoch == c.checkpoint.epoch { return }
        if lastSeen == nil && c.checkpoint.owner == owner { return }
        throw CheckpointError.fenced(topology: topology, ownEpoch: epoch, newerOwner: c.checkpoint.owner, newerEpoch: c.checkpoint.epoch)
    }
}
