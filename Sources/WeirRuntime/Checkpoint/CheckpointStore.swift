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
    /// The newest complete checkpoint (a full image or an increment), or nil if there is none.
    /// Remembers the store's position for ``checkOwnership(owner:epoch:partitions:)``.
    func load() throws -> Checkpoint?
    /// What restores the newest checkpoint: its full image then the increments after it, in
    /// order (empty: none). Remembers the position like ``load()``.
    /// - Throws: ``CheckpointError/baseMissing(epoch:base:location:)`` when an increment's base is
    ///   missing or incomplete.
    func loadChain() throws -> [Checkpoint]
    func save(_ checkpoint: Checkpoint) throws
    /// Called after a save became durable.
    func saved(_ checkpoint: Checkpoint) throws
    func checkOwnership(owner: String, epoch: UInt64, partitions: Set<Int32>) throws
    /// Human-readable location (for logs).
    var location: String { get }
    /// What the last load read, for logs (nil: nothing to say).
    var lastReadSummary: String? { get }
}

extension CheckpointStore {
    /// Stores that keep full images only: the newest one.
    public func loadChain() throws -> [Checkpoint] { try load().map { [$0] } ?? [] }
    public var lastReadSummary: String? { nil }
}

/// Checkpoints as files in a directory: `<dir>/<topology>.checkpoint` (`<topology>.<group>.checkpoint`
/// when a group is given), replaced atomically
/// (write to a temporary file, fsync, rename). The file holds the commit record then the state,
/// so it is checked (length, hash) on load like the Kafka form. Increments go to
/// `<that path>.inc-<epoch>` files (same form); writing a full image deletes the increments
/// before it (a crash in between leaves older increments, which no chain reaches).
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

    /// The checkpoint files present (full image and increments), oldest epoch first, with their
    /// commit record and packed state; damaged files are errors.
    private func files() throws -> [(commit: CheckpointRecords.Commit, packed: [UInt8])] {
        var out: [(commit: CheckpointRecords.Commit, packed: [UInt8])] = []
        let prefix = (path as NSString).lastPathComponent + ".inc-"
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        var paths = names.filter { $0.hasPrefix(prefix) && !$0.hasSuffix(".tmp") }.map { directory + "/" + $0 }
        if FileManager.default.fileExists(atPath: path) { paths.append(path) }
        for p in paths {
            guard let data = FileManager.default.contents(atPath: p) else { continue }
            out.append(try Self.parse([UInt8](data), path: p))
        }
        return out.sorted { $0.commit.checkpoint.epoch < $1.commit.checkpoint.epoch }
    }

    static func parse(_ bytes: [UInt8], path: String) throws -> (commit: CheckpointRecords.Commit, packed: [UInt8]) {
        guard bytes.count >= 8 else { throw CheckpointError.damaged(what: "file \(path)", detail: "\(bytes.count) bytes") }
        var n = 0
        for i in 0..<8 { n |= Int(bytes[i]) << (8 * i) }
        guard n >= 0, n <= bytes.count - 8 else { throw CheckpointError.damaged(what: "file \(path)", detail: "commit length \(n)") }
        let c = try CheckpointRecords.decodeCommit(Array(bytes[8..<(8 + n)]))
        return (c, Array(bytes[(8 + n)...]))
    }

    public func load() throws -> Checkpoint? {
        guard let newest = try files().last else { lastSeen = nil; return nil }
        var cp = newest.commit.checkpoint
        do {
            cp.state = try newest.commit.unpack(newest.packed)
        } catch {
            throw CheckpointError.damaged(what: "\(cp.base == nil ? "file" : "increment of") \(path)", detail: error.description)
        }
        lastSeen = (cp.owner, cp.epoch)
        return cp
    }

    public func loadChain() throws -> [Checkpoint] {
        let all = try files()
        guard let newest = all.last else { lastSeen = nil; return [] }
        // a damaged newest file is an error here (as in load()), not skipped
        _ = try load()
        lastSeen = (newest.commit.checkpoint.owner, newest.commit.checkpoint.epoch)
        return try CheckpointRecords.chain(all, location: path)
    }

    public func save(_ c: Checkpoint) throws {
        let packed = ZeroRunLength.pack(c.state)
        let commit = CheckpointRecords.commitValue(c, chunks: 1, packedLength: packed.count)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(8 + commit.count + packed.count)
        for i in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: commit.count >> (8 * i))) }
        bytes += commit
        bytes += packed
        let target = c.base == nil ? path : path + ".inc-\(c.epoch)"
        let tmp = target + ".tmp"
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
        guard ok, rename(tmp, target) == 0 else { throw CheckpointError.io("cannot write \(target): errno \(errno)") }
        if c.base == nil {
            // the increments before this full image are no longer needed
            let prefix = (path as NSString).lastPathComponent + ".inc-"
            for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] where name.hasPrefix(prefix) {
                if let e = UInt64(name.dropFirst(prefix.count)), e < c.epoch { unlink(directory + "/" + name) }
            }
        }
    }

    public func saved(_ c: Checkpoint) throws { lastSeen = (c.owner, c.epoch) }

    public func checkOwnership(owner: String, epoch: UInt64, partitions: Set<Int32>) throws {
        guard let c = (try? files())?.last?.commit else { return }
        if let seen = lastSeen, seen.owner == c.checkpoint.owner, seen.epoch == c.checkpoint.epoch { return }
        if lastSeen == nil && c.checkpoint.owner == owner { return }
        throw CheckpointError.fenced(topology: topology, ownEpoch: epoch, newerOwner: c.checkpoint.owner, newerEpoch: c.checkpoint.epoch)
    }
}
