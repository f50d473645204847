/// The headers of one record, built without allocating per record: names are static strings
/// (their bytes live in the binary), values are bytes in one buffer the block reuses. Keep one
/// block per writer and call ``removeAll()`` before each record.
///
/// A value type over one manually managed buffer (copied on write, as `Array` is): every
/// mutation checks once that the buffer is not shared and then writes through raw pointers. The
/// first version kept three arrays and appended byte by byte, with a slice copy per decimal; at
/// ~200k tagged records/s that cost ~0.3 s of CPU per 1M records (benchmarks/RESULTS.md,
/// 2026-12-07 15:08 UTC).
///
/// Invariant: header `i`'s value is `bytes[starts[i]..<starts[i + 1]]`; `starts[count]` is the
/// end of the last closed value.
/// - Complexity: O(value bytes) per append; no heap allocation once the buffer has grown to the
///   largest record's headers.
public struct HeaderBlock: @unchecked Sendable {
    private final class Storage {
        var names: UnsafeMutablePointer<StaticString>
        /// `nameCapacity + 1` entries.
        var starts: UnsafeMutablePointer<Int>
        var bytes: UnsafeMutablePointer<UInt8>
        var nameCapacity: Int
        var byteCapacity: Int
        var count = 0
        var length = 0
        var open = false

        init(names: Int, bytes: Int) {
            nameCapacity = max(1, names)
            byteCapacity = max(16, bytes)
            self.names = .allocate(capacity: nameCapacity)
            starts = .allocate(capacity: nameCapacity + 1)
            starts[0] = 0
            self.bytes = .allocate(capacity: byteCapacity)
        }

        func copy() -> Storage {
            let c = Storage(names: nameCapacity, bytes: byteCapacity)
            c.names.update(from: names, count: count)
            c.starts.update(from: starts, count: count + 1)
            c.bytes.update(from: bytes, count: length)
            (c.count, c.length, c.open) = (count, length, open)
            return c
        }

        func reserveName() {
            guard count == nameCapacity else { return }
            let n = nameCapacity * 2
            let newNames = UnsafeMutablePointer<StaticString>.allocate(capacity: n)
            newNames.update(from: names, count: count)
            names.deallocate()
            names = newNames
            let newStarts = UnsafeMutablePointer<Int>.allocate(capacity: n + 1)
            newStarts.update(from: starts, count: count + 1)
            starts.deallocate()
            starts = newStarts
            nameCapacity = n
        }

        /// Room for `n` more value bytes.
        func reserve(_ n: Int) {
            guard length + n > byteCapacity else { return }
            let c = max(byteCapacity * 2, length + n)
            let b = UnsafeMutablePointer<UInt8>.allocate(capacity: c)
            b.update(from: bytes, count: length)
            bytes.deallocate()
            bytes = b
            byteCapacity = c
        }

        deinit {
            names.deallocate()
            starts.deallocate()
            bytes.deallocate()
        }
    }

    private var storage: Storage

    public init(capacity: Int = 8) {
        storage = Storage(names: capacity, bytes: capacity * 24)
    }

    /// The storage, unshared (copied first when another block value holds it).
    private var unique: Storage {
        mutating get {
            if !isKnownUniquelyReferenced(&storage) { storage = storage.copy() }
            return storage
        }
    }

    /// Headers in the block.
    public var count: Int { storage.count }

    /// Empties the block, keeping its buffers.
    public mutating func removeAll() {
        let s = unique
        s.count = 0
        s.length = 0
        s.open = false
    }

    /// A header whose value is `value`'s bytes.
    public mutating func append(_ name: StaticString, bytes value: [UInt8]) {
        begin(name)
        write(value)
        end()
    }

    /// A header whose value is `value` in decimal ASCII (as `String(value)`), written in place.
    public mutating func append(_ name: StaticString, decimal value: Int64) {
        begin(name)
        write(decimal: value)
        end()
    }

    /// Starts a header whose value the following `write` calls build; ``end()`` closes it.
    public mutating func begin(_ name: StaticString) {
        precondition(name.hasPointerRepresentation, "header names are string literals")
        let s = unique
        precondition(!s.open, "begin before the previous header's end")
        s.reserveName()
        s.names[s.count] = name
        s.open = true
    }

    public mutating func write(_ value: [UInt8]) {
        let s = unique
        s.reserve(value.count)
        value.withUnsafeBufferPointer { v in
            if let base = v.baseAddress { (s.bytes + s.length).update(from: base, count: v.count) }
        }
        s.length += value.count
    }

    public mutating func write(ascii: UInt8) {
        let s = unique
        s.reserve(1)
        s.bytes[s.length] = ascii
        s.length += 1
    }

    /// `value` in decimal ASCII, as `String(value)`.
    public mutating func write(decimal value: Int64) {
        let s = unique
        s.reserve(20)  // "-9223372036854775808"
        var m = value.magnitude  // UInt64 holds |Int64.min|
        var digits = 1
        var p: UInt64 = 10
        while digits < 20 && m >= p {
            digits += 1
            p = p &* 10
        }
        var at = s.bytes + s.length
        if value < 0 {
            at.pointee = UInt8(ascii: "-")
            at += 1
            s.length += 1
        }
        for i in stride(from: digits - 1, through: 0, by: -1) {
            at[i] = UInt8(ascii: "0") + UInt8(truncatingIfNeeded: m % 10)
            m /= 10
        }
        s.length += digits
    }

    /// Closes the header opened by ``begin(_:)``.
    public mutating func end() {
        let s = unique
        precondition(s.open, "end without begin")
        s.open = false
        s.count += 1
        s.starts[s.count] = s.length
    }

    /// The NUL-terminated name of header `i` (a string literal: valid for the process's life).
    func name(_ i: Int) -> UnsafePointer<CChar> {
        UnsafeRawPointer(storage.names[i].utf8Start).assumingMemoryBound(to: CChar.self)
    }

    /// The value of header `i`: valid while this block is neither mutated nor released.
    func value(_ i: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: storage.bytes + storage.starts[i], count: storage.starts[i + 1] - storage.starts[i])
    }

    /// The headers as ``KafkaHeader`` values (for tests and tools; allocates).
    public var headers: [KafkaHeader] {
        (0..<count).map { i in KafkaHeader(name: String(cString: name(i)), value: Array(value(i))) }
    }
}
