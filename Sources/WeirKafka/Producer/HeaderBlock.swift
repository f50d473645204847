/// The headers of one record, built without allocating per record: names are static strings
/// (their bytes live in the binary), values are bytes in one buffer the block reuses. Keep one
/// block per writer and call ``removeAll()`` before each record.
///
/// Invariant: `starts` has one more entry than `names` (the end of the last value).
/// - Complexity: O(value bytes) per append; no heap allocation once the buffers have grown to
///   the largest record's headers.
public struct HeaderBlock: Sendable {
    private(set) var names: [StaticString] = []
    private(set) var starts: [Int] = [0]
    private(set) var bytes: [UInt8] = []

    public init(capacity: Int = 8) {
        names.reserveCapacity(capacity)
        starts.reserveCapacity(capacity + 1)
        bytes.reserveCapacity(capacity * 24)
    }

    /// Headers in the block.
    public var count: Int { names.count }

    /// Empties the block, keeping its buffers.
    public mutating func removeAll() {
        names.removeAll(keepingCapacity: true)
        starts.removeAll(keepingCapacity: true)
        starts.append(0)
        bytes.removeAll(keepingCapacity: true)
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
        precondition(starts.count == names.count + 1, "begin before the previous header's end")
        names.append(name)
    }

    public mutating func write(_ value: [UInt8]) { bytes.append(contentsOf: value) }

    public mutating func write(ascii: UInt8) { bytes.append(ascii) }

    /// `value` in decimal ASCII, as `String(value)`.
    public mutating func write(decimal value: Int64) {
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        // The magnitude's digits, least significant first, then reversed (UInt64 holds |Int64.min|).
        var m = value.magnitude
        let first = bytes.count
        repeat {
            bytes.append(UInt8(ascii: "0") + UInt8(m % 10))
            m /= 10
        } while m > 0
        bytes[first...].reverse()
    }

    /// Closes the header opened by ``begin(_:)``.
    public mutating func end() {
        precondition(starts.count == names.count, "end without begin")
        starts.append(bytes.count)
    }

    /// The NUL-terminated name of header `i` (a string literal: valid for the process's life).
    func name(_ i: Int) -> UnsafePointer<CChar> {
        UnsafeRawPointer(names[i].utf8Start).assumingMemoryBound(to: CChar.self)
    }

    /// Name (NUL-terminated) and value of header `i`, valid inside `body`.
    func withHeader<R>(_ i: Int, _ body: (UnsafePointer<CChar>, UnsafeRawBufferPointer) -> R) -> R {
        let name = name(i)
        return bytes.withUnsafeBytes { all in body(name, UnsafeRawBufferPointer(rebasing: all[starts[i]..<starts[i + 1]])) }
    }

    /// The headers as ``KafkaHeader`` values (for tests and tools; allocates).
    public var headers: [KafkaHeader] {
        (0..<count).map { i in withHeader(i) { name, value in KafkaHeader(name: String(cString: name), value: Array(value)) } }
    }
}
