internal import CWeirPrefetch

/// Interns byte strings to dense `Int32` ids (open addressing, linear probing, power-of-two table).
///
/// Used for category values (per field) and for keys of keyed state. Ids are dense from 0;
/// a removed id is reused by a later insert. Lookups hash the bytes in place: no `String`,
/// no allocation. Inserting allocates only when the arena or table must grow (amortised);
/// keys of up to 16 bytes get a 16-byte arena cell that is reused by the next key after removal,
/// so a steady population of short keys never grows the arena (it is bounded by the peak number of
/// live ids × 16 bytes); the arena is compacted only when freed cells of longer keys exceed half of it.
///
/// Invariant: `table` load factor ≤ 1/2; every live id appears exactly once in `table`.
/// - Complexity: lookup/insert/remove O(1) expected (+ O(length) hashing and compare).
public struct ByteInterner: Sendable {
    /// A 16-byte table slot: the id (−1 empty), the hash's low 32 bits (the bits that choose the
    /// home slot, so ``remove(_:)`` finds each follower's home from the table alone, without a
    /// cache miss on its record), and for keys of at most 7 bytes the bytes plus
    /// `(length + 1) << 56` (0 for longer keys), so a lookup of a short key touches one cache line
    /// and never the arena.
    @usableFromInline struct Slot: Sendable {
        @usableFromInline var tag: UInt32
        @usableFromInline var id: Int32
        @usableFromInline var inline: UInt64
        @usableFromInline static let empty = Slot(tag: 0, id: -1, inline: 0)
    }
    @usableFromInline var table: ContiguousArray<Slot>
    /// Per id: hash, arena start, length (−1 = free id) and arena capacity.
    @usableFromInline struct Meta: Sendable {
        @usableFromInline var hash: UInt64
        @usableFromInline var start: Int32
        @usableFromInline var length: Int32
        @usableFromInline var cap: Int32
    }
    @usableFromInline var meta: ContiguousArray<Meta>
    @usableFromInline var arena: ContiguousArray<UInt8>
    @usableFromInline var freeIds: ContiguousArray<Int32>
    @usableFromInline var garbage: Int
    /// Number of live ids.
    public private(set) var count: Int

    mutating func setCount(_ c: Int) { count = c }

    public init(capacity: Int = 16) {
        var cap = 16
        while cap < capacity * 2 { cap <<= 1 }
        table = ContiguousArray(repeating: .empty, count: cap)
        meta = []; arena = []; freeIds = []
        garbage = 0
        count = 0
        meta.reserveCapacity(capacity)
    }

    /// One past the largest id ever handed out (ids below it may be free).
    public var idLimit: Int { meta.count }

    /// True when `id` is currently live.
    public func isLive(_ id: Int32) -> Bool { id >= 0 && Int(id) < meta.count && meta[Int(id)].length >= 0 }

    /// The id of the given bytes, or nil.
    @inlinable
    public func lookup(_ p: UnsafeRawPointer, _ n: Int, hash h: UInt64) -> Int32? {
        let code = inlineCode(p, n)
        let tag = UInt32(truncatingIfNeeded: h)
        return table.withUnsafeBufferPointer { t in
            let mask = t.count - 1
            var slot = Int(truncatingIfNeeded: h) & mask
            while true {
                let x = t[slot]
                if x.id < 0 { return nil }
                if x.tag == tag && x.inline == code {
                    if code != 0 { return x.id }
                    let m = meta[Int(x.id)]
                    if m.hash == h && Int(m.length) == n
                        && arena.withUnsafeBufferPointer({ memcmpBytes($0.baseAddress! + Int(m.start), p, n) }) { return x.id }
                }
                slot = (slot + 1) & mask
            }
        }
    }

    /// Prefetches the table slot where a lookup of `hash` starts (a speed hint).
    @inline(__always)
    func prefetchSlot(hash h: UInt64) {
        table.withUnsafeBufferPointer { t in weir_prefetch(t.baseAddress! + (Int(truncatingIfNeeded: h) & (t.count - 1))) }
    }

    /// Prefetches the record of `id` (hash, arena cell) and its bytes (speed hint).
    @inline(__always)
    func prefetchRecord(_ id: Int32) {
        guard id >= 0 && Int(id) < meta.count else { return }
        meta.withUnsafeBufferPointer { m in
            weir_prefetch(m.baseAddress! + Int(id))
            let s = Int(m[Int(id)].start)
            if s >= 0 && s < arena.count { arena.withUnsafeBufferPointer { weir_prefetch($0.baseAddress! + s) } }
        }
    }

    /// Prefetches the table slot where the probe for live id `id` starts (what ``remove(_:)``
    /// reads first); reads its record, so prefetch that earlier (``prefetchRecord(_:)``).
    @inline(__always)
    func prefetchSlot(of id: Int32) {
        guard id >= 0 && Int(id) < meta.count else { return }
        prefetchSlot(hash: meta[Int(id)].hash)
    }

    /// Prefetches what the next insert of a new key reuses: the last freed id's record.
    @inline(__always)
    func prefetchNextFree() {
        if let f = freeIds.last { prefetchRecord(f) }
    }

    /// A probable id for `hash` from the table alone (the first slot of its probe chain whose
    /// 32-bit tag matches), or −1. A hint only: the bytes are not compared.
    @inline(__always)
    func hintID(hash h: UInt64) -> Int32 {
        let tag = UInt32(truncatingIfNeeded: h)
        return table.withUnsafeBufferPointer { t in
            let mask = t.count - 1
            var slot = Int(truncatingIfNeeded: h) & mask
            var probes = 0
            while probes < 8 {
                let x = t[slot]
                if x.id < 0 { return -1 }
                if x.tag == tag { return x.id }
                slot = (slot + 1) & mask
                probes += 1
            }
            return -1
        }
    }

    /// The id of `bytes`, or nil.
    public func lookup(_ bytes: some Collection<UInt8>) -> Int32? {
        let a = Array(bytes)
        return a.withUnsafeBytes { b in lookup(b.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!, b.count, hash: weirHashBytes(b.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!, b.count)) }
    }

    /// Inserts the bytes (if absent) and returns their id and whether it is new.
    @inlinable
    public mutating func intern(_ p: UnsafeRawPointer, _ n: Int, hash h: UInt64) -> (id: Int32, inserted: Bool) {
        if let id = lookup(p, n, hash: h) { return (id, false) }
        return (insertNew(p, n, hash: h), true)
    }

    /// Inserts `bytes` (if absent) and returns the id.
    @discardableResult
    public mutating func intern(_ bytes: some Collection<UInt8>) -> Int32 {
        let a = Array(bytes)
        return a.withUnsafeBytes { b in
            let base = b.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!
            return intern(base, b.count, hash: weirHashBytes(base, b.count)).id
        }
    }

    @usableFromInline
    mutating func insertNew(_ p: UnsafeRawPointer, _ n: Int, hash h: UInt64) -> Int32 {
        if (count + 1) * 2 > table.count { grow() }
        if garbage > 4096 && garbage * 2 > arena.count { compact() }
        let id: Int32
        if let f = freeIds.popLast() {
            id = f
            var cap = Int(meta[Int(f)].cap)
            var start = meta[Int(f)].start
            if n <= cap {
                // reuse the freed cell in place (no arena growth)
                arena.withUnsafeMutableBufferPointer { a in
                    if n > 0 { (a.baseAddress! + Int(start)).update(from: p.assumingMemoryBound(to: UInt8.self), count: n) }
                }
                if cap > 16 { garbage -= cap }
            } else {
                (start, cap) = appendCell(p, n)
            }
            meta[Int(f)] = Meta(hash: h, start: start, length: Int32(n), cap: Int32(cap))
        } else {
            id = Int32(meta.count)
            let (start, cap) = appendCell(p, n)
            meta.append(Meta(hash: h, start: start, length: Int32(n), cap: Int32(cap)))
        }
        placeInTable(id, hash: h)
        count += 1
        return id
    }

    /// Appends a cell of `max(n, 16)` bytes holding the key; returns its start and capacity.
    mutating func appendCell(_ p: UnsafeRawPointer, _ n: Int) -> (Int32, Int) {
        let start = Int32(arena.count)
        arena.append(contentsOf: UnsafeRawBufferPointer(start: p, count: n))
        let cap = max(n, 16)
        if cap > n { arena.append(contentsOf: repeatElement(0, count: cap - n)) }
        return (start, cap)
    }

    @usableFromInline
    mutating func placeInTable(_ id: Int32, hash h: UInt64) {
        let mask = table.count - 1
        var slot = Int(truncatingIfNeeded: h) & mask
        while table[slot].id >= 0 { slot = (slot + 1) & mask }
        table[slot] = slotRecord(id)
    }

    /// The table record of a live id.
    func slotRecord(_ id: Int32) -> Slot {
        let m = meta[Int(id)]
        let code = arena.withUnsafeBufferPointer { a in inlineCode(a.baseAddress.map { UnsafeRawPointer($0) + Int(m.start) } ?? UnsafeRawPointer(bitPattern: 1)!, Int(m.length)) }
        return Slot(tag: UInt32(truncatingIfNeeded: m.hash), id: id, inline: code)
    }

    mutating func grow() {
        table = ContiguousArray(repeating: .empty, count: table.count * 2)
        for id in 0..<meta.count where meta[id].length >= 0 { placeInTable(Int32(id), hash: meta[id].hash) }
    }

    mutating func compact() {
        var newArena = ContiguousArray<UInt8>()
        newArena.reserveCapacity(arena.count - garbage + 64)
        for id in 0..<meta.count {
            if meta[id].length < 0 { meta[id].start = 0; meta[id].cap = 0; continue }  // free: no cell
            let s = Int(meta[id].start), c = Int(meta[id].cap)
            meta[id].start = Int32(newArena.count)
            newArena.append(contentsOf: arena[s..<s + c])
        }
        arena = newArena
        garbage = 0
    }

    /// Removes a live id (backward-shift deletion keeps probe chains intact); the id is reused later.
    public mutating func remove(_ id: Int32) {
        guard isLive(id) else { return }
        let mask = table.count - 1
        var slot = Int(truncatingIfNeeded: meta[Int(id)].hash) & mask
        while table[slot].id != id { slot = (slot + 1) & mask }
        // backward shift
        var hole = slot
        var j = (slot + 1) & mask
        while table[j].id >= 0 {
            let home = Int(table[j].tag) & mask  // the tag holds the hash's low 32 bits; the table has ≤ 2^32 slots
            // move j into hole if home is not in (hole, j] cyclically
            let dj = (j - home) & mask
            let dh = (hole - home) & mask
            if dh <= dj {
                table[hole] = table[j]
                hole = j
            }
            j = (j + 1) & mask
        }
        table[hole] = .empty
        // 16-byte cells of free ids are always reusable, so only larger cells count as garbage
        if meta[Int(id)].cap > 16 { garbage += Int(meta[Int(id)].cap) }
        meta[Int(id)].length = -1
        freeIds.append(id)
        count -= 1
    }

    /// Calls `body` with the bytes of a live id.
    @inlinable
    public func withBytes<R>(of id: Int32, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        let s = Int(meta[Int(id)].start), n = Int(meta[Int(id)].length)
        return try arena.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[s..<s + n])) }
    }

    /// The bytes of a live id, as a new array (allocates; not for hot paths).
    public func bytes(of id: Int32) -> [UInt8] { withBytes(of: id) { Array($0) } }

    /// The bytes of a live id as a `String` (allocates; not for hot paths).
    public func string(of id: Int32) -> String { withBytes(of: id) { String(decoding: $0, as: UTF8.self) } }

    /// Approximate bytes in use by live ids (table slots at the ≤ 1/2 load factor, metadata and
    /// their arena cells); less than ``memoryBytes`` once ids were removed, since freed room is
    /// reused before anything grows.
    public var liveBytes: Int {
        count * (2 * MemoryLayout<Slot>.stride + MemoryLayout<Meta>.stride) + max(0, arena.count - garbage - 16 * freeIds.count)
    }

    /// Approximate heap bytes held.
    public var memoryBytes: Int {
        table.capacity * 16 + meta.capacity * 24 + arena.capacity + freeIds.capacity * 4
    }
}

/// The inline code of a key: its bytes plus `(n + 1) << 56` when `n ≤ 7`, else 0.
@inlinable @inline(__always)
func inlineCode(_ p: UnsafeRawPointer, _ n: Int) -> UInt64 {
    n <= 7 ? (n == 0 ? 0 : loadShort(p, n)) | (UInt64(n + 1) << 56) : 0
}

/// Loads `n ≤ 8` bytes little-endian into a `UInt64` (zero-padded), without over-reading.
@inlinable @inline(__always)
func loadShort(_ p: UnsafeRawPointer, _ n: Int) -> UInt64 {
    if n >= 8 { return UInt64(littleEndian: p.loadUnaligned(as: UInt64.self)) }
    if n >= 4 {
        // two overlapping 4-byte loads (the overlap ORs equal bytes into the same places)
        let lo = UInt64(UInt32(littleEndian: p.loadUnaligned(as: UInt32.self)))
        let hi = UInt64(UInt32(littleEndian: p.loadUnaligned(fromByteOffset: n - 4, as: UInt32.self)))
        return lo | hi << (8 * UInt64(n - 4))
    }
    if n <= 0 { return 0 }
    // bytes 0, n/2 and n−1 cover every byte of a 1-, 2- or 3-byte run
    let b0 = UInt64(p.load(as: UInt8.self))
    let b1 = UInt64(p.load(fromByteOffset: n >> 1, as: UInt8.self))
    let b2 = UInt64(p.load(fromByteOffset: n - 1, as: UInt8.self))
    return b0 | b1 << (8 * UInt64(n >> 1)) | b2 << (8 * UInt64(n - 1))
}

@inlinable @inline(__always)
func memcmpBytes(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, _ n: Int) -> Bool {
    var i = 0
    while i + 8 <= n {
        if a.loadUnaligned(fromByteOffset: i, as: UInt64.self) != b.loadUnaligned(fromByteOffset: i, as: UInt64.self) { return false }
        i += 8
    }
    while i < n {
        if a.load(fromByteOffset: i, as: UInt8.self) != b.load(fromByteOffset: i, as: UInt8.self) { return false }
        i += 1
    }
    return true
}
