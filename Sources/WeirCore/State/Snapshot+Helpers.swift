import WeirStats

// Binary helpers for snapshots of WeirCore state (little-endian, via WeirStats' ByteWriter/Reader).

extension ByteWriter {
    mutating func writeArray(_ a: ContiguousArray<Int64>) { write(UInt64(a.count)); for v in a { write(v) } }
    mutating func writeArray(_ a: ContiguousArray<Int32>) { write(UInt64(a.count)); for v in a { write(v) } }
    mutating func writeArray(_ a: ContiguousArray<UInt32>) { write(UInt64(a.count)); for v in a { write(v) } }
    mutating func writeArray(_ a: ContiguousArray<UInt8>) { writeBytes(a) }
    mutating func writeArray(_ a: ContiguousArray<Double>) { write(UInt64(a.count)); for v in a { write(v) } }
    mutating func writeArray(_ a: ContiguousArray<Bool>) { write(UInt64(a.count)); for v in a { write(v) } }
}

extension ByteReader {
    mutating func readInt64s(_ f: String) throws(SerializationError) -> ContiguousArray<Int64> {
        let n = try readCount(field: f, limit: remaining / 8)
        var a = ContiguousArray<Int64>(); a.reserveCapacity(n)
        for _ in 0..<n { a.append(try readInt64()) }
        return a
    }
    mutating func readInt32s(_ f: String) throws(SerializationError) -> ContiguousArray<Int32> {
        let n = try readCount(field: f, limit: remaining / 4)
        var a = ContiguousArray<Int32>(); a.reserveCapacity(n)
        for _ in 0..<n { a.append(try readInt32()) }
        return a
    }
    mutating func readUInt32s(_ f: String) throws(SerializationError) -> ContiguousArray<UInt32> {
        let n = try readCount(field: f, limit: remaining / 4)
        var a = ContiguousArray<UInt32>(); a.reserveCapacity(n)
        for _ in 0..<n { a.append(try readUInt32()) }
        return a
    }
    mutating func readUInt8s(_ f: String) throws(SerializationError) -> ContiguousArray<UInt8> {
        ContiguousArray(try readBytes(field: f))
    }
    mutating func readDoubles(_ f: String) throws(SerializationError) -> ContiguousArray<Double> {
        let n = try readCount(field: f, limit: remaining / 8)
        var a = ContiguousArray<Double>(); a.reserveCapacity(n)
        for _ in 0..<n { a.append(try readDouble()) }
        return a
    }
    mutating func readBools(_ f: String) throws(SerializationError) -> ContiguousArray<Bool> {
        let n = try readCount(field: f, limit: remaining)
        var a = ContiguousArray<Bool>(); a.reserveCapacity(n)
        for _ in 0..<n { a.append(try readBool()) }
        return a
    }
}

/// Delta bases of the compact window-entry and timer records (images "WWIN" v2, increments
/// "WWII" v3 and their journal): the previous record's window start and length and the previous
/// timer's time. Writer and reader start from zero and advance them alike.
struct CompactDeltas: Sendable {
    var start: Int64 = 0
    var length: Int64 = 0
    var time: Int64 = 0
}

extension ByteWriter {
    /// A window entry: start and length as zigzag deltas from the previous record's, key and
    /// links as zigzag varints, generation as a varint, flags as a byte.
    mutating func writeCompact(_ x: WindowOperator.Entry, _ d: inout CompactDeltas) {
        writeZigzag(x.start &- d.start); d.start = x.start
        let length = x.end &- x.start
        writeZigzag(length &- d.length); d.length = length
        writeZigzag(Int64(x.key)); writeZigzag(Int64(x.next)); writeZigzag(Int64(x.prev))
        writeVarint(UInt64(x.gen)); write(x.flags)
    }

    /// A timer: time as a zigzag delta from the previous timer's, entry as a zigzag varint,
    /// generation as a varint, kind as a byte.
    mutating func writeCompact(_ t: Timer, _ d: inout CompactDeltas) {
        writeZigzag(t.time &- d.time); d.time = t.time
        writeZigzag(Int64(t.entry)); writeVarint(UInt64(t.gen)); write(t.kind)
    }
}

extension ByteReader {
    /// An entry written by the entry form of `ByteWriter.writeCompact(_:_:)`; `field`
    /// names it in errors. Ranges (links, keys) are the caller's to check.
    mutating func readCompactEntry(_ d: inout CompactDeltas, field: String) throws(SerializationError) -> WindowOperator.Entry {
        d.start = d.start &+ (try readZigzag())
        d.length = d.length &+ (try readZigzag())
        let key = try readZigzagInt32(field: field + ".key"), next = try readZigzagInt32(field: field + ".next")
        let prev = try readZigzagInt32(field: field + ".prev")
        return WindowOperator.Entry(start: d.start, end: d.start &+ d.length, key: key, next: next, prev: prev,
                                    gen: try readVarintUInt32(field: field + ".gen"), flags: try readUInt8())
    }

    /// A timer written by the timer form of `ByteWriter.writeCompact(_:_:)`; `field` names it in errors.
    mutating func readCompactTimer(_ d: inout CompactDeltas, field: String) throws(SerializationError) -> Timer {
        d.time = d.time &+ (try readZigzag())
        let entry = try readZigzagInt32(field: field + ".entry")
        return Timer(time: d.time, entry: entry, gen: try readVarintUInt32(field: field + ".gen"), kind: try readUInt8())
    }
}

extension ByteInterner {
    func serialize(into w: inout ByteWriter) {
        w.writeHeader(tag: "WBIN", version: 1)
        w.writeArray(ContiguousArray(table.map(\.id))); w.write(UInt64(meta.count))
        for m in meta { w.write(m.hash); w.write(m.start); w.write(m.length); w.write(m.cap) }
        w.writeArray(arena); w.writeArray(freeIds)
        w.write(garbage); w.write(count)
    }

    init(deserializing r: inout ByteReader) throws(SerializationError) {
        try r.readHeader(tag: "WBIN", supportedVersions: 1...1)
        self.init(capacity: 1)
        let ids = try r.readInt32s("ByteInterner.table")
        let n = try r.readCount(field: "ByteInterner.meta", limit: r.remaining / 20)
        meta = []
        meta.reserveCapacity(n)  // growing it by doubling was 4.6% of a 10M-key restore's samples (copies into fresh pages)
        for _ in 0..<n { meta.append(Meta(hash: try r.readUInt64(), start: try r.readInt32(), length: try r.readInt32(), cap: try r.readInt32())) }
        arena = try r.readUInt8s("ByteInterner.arena")
        freeIds = try r.readInt32s("ByteInterner.freeIds")
        garbage = try r.readInt()
        let c = try r.readInt()
        guard ids.count >= 16, ids.count & (ids.count - 1) == 0, c >= 0, c <= n
        else { throw .invalidValue(field: "ByteInterner", detail: "inconsistent sizes") }
        for (i, m) in meta.enumerated() where m.start < 0 || m.cap < 0 || m.length < -1 || m.length > m.cap || Int(m.start) + Int(m.cap) > arena.count {
            throw .invalidValue(field: "ByteInterner.starts", detail: "id \(i) outside arena")
        }
        for id in ids where id >= n || (id >= 0 && meta[Int(id)].length < 0) {
            throw .invalidValue(field: "ByteInterner.table", detail: "id \(id) invalid")
        }
        table = ContiguousArray(ids.map { $0 < 0 ? Slot.empty : slotRecord($0) })
        setCount(c)
    }
}
