/// Emitted window results of one processing call, struct-of-arrays (reused, allocation-free
/// once grown). Row `i`: operator `window[i]`, key bytes, `[start, end)`, kind and
/// `valueCount[i]` values (the operator's ``WindowOperator/columnNames`` order).
public struct WindowResults: Sendable {
    public internal(set) var window = ContiguousArray<Int32>()
    public internal(set) var kind = ContiguousArray<ResultKind>()
    public internal(set) var start = ContiguousArray<Int64>()
    public internal(set) var end = ContiguousArray<Int64>()
    @usableFromInline var keyOffset = ContiguousArray<Int32>()
    @usableFromInline var keyLength = ContiguousArray<Int32>()
    @usableFromInline var keyBytes = ContiguousArray<UInt8>()
    @usableFromInline var valueOffset = ContiguousArray<Int32>()
    public internal(set) var valueCount = ContiguousArray<Int32>()
    public internal(set) var values = ContiguousArray<Double>()

    public init() {}

    /// Number of rows.
    public var count: Int { window.count }

    /// The values of row `i`.
    public func values(_ i: Int) -> ArraySlice<Double> {
        let o = Int(valueOffset[i])
        return values[o..<o + Int(valueCount[i])]
    }

    /// The raw key bytes of row `i` (string keys: UTF-8; others: the 8-byte little-endian slot;
    /// global windows: empty).
    public func keyBytes(_ i: Int) -> ArraySlice<UInt8> {
        let o = Int(keyOffset[i])
        return keyBytes[o..<o + Int(keyLength[i])]
    }

    public mutating func removeAll() {
        window.removeAll(keepingCapacity: true); kind.removeAll(keepingCapacity: true)
        start.removeAll(keepingCapacity: true); end.removeAll(keepingCapacity: true)
        keyOffset.removeAll(keepingCapacity: true); keyLength.removeAll(keepingCapacity: true)
        keyBytes.removeAll(keepingCapacity: true); valueOffset.removeAll(keepingCapacity: true)
        valueCount.removeAll(keepingCapacity: true); values.removeAll(keepingCapacity: true)
    }

    /// Appends a row header and `n` zero values; returns the value offset to fill.
    @usableFromInline
    mutating func append(window w: Int, kind k: ResultKind, start s: Int64, end e: Int64,
                         key: UnsafeRawBufferPointer, valueCount n: Int) -> Int {
        window.append(Int32(w)); kind.append(k); start.append(s); end.append(e)
        keyOffset.append(Int32(keyBytes.count)); keyLength.append(Int32(key.count))
        keyBytes.append(contentsOf: key)
        let o = values.count
        valueOffset.append(Int32(o)); valueCount.append(Int32(n))
        for _ in 0..<n { values.append(0) }
        return o
    }
}

extension WindowResults {
    /// Offset of row `i`'s first value in ``values``.
    public func valueOffsetOf(_ i: Int) -> Int32 { valueOffset[i] }
}
