/// A value that snapshots to bytes and restores exactly.
///
/// Restoring then continuing to update gives the same state as never having stopped
/// (random-number state included). Formats are little-endian and versioned (see ``ByteWriter``).
public protocol ByteSerializable {
    /// Appends this value's binary form to `writer`.
    func serialize(into writer: inout ByteWriter)
    /// Restores a value written by ``serialize(into:)``.
    /// - Throws: ``SerializationError`` on truncated, mistagged or invalid input.
    init(deserializing reader: inout ByteReader) throws(SerializationError)
}

extension ByteSerializable {
    /// Appends this value's binary form to `bytes`.
    public func serialize(into bytes: inout [UInt8]) {
        var w = ByteWriter()
        swap(&w.bytes, &bytes)
        serialize(into: &w)
        swap(&w.bytes, &bytes)
    }

    /// This value's binary form.
    public func serialized() -> [UInt8] {
        var w = ByteWriter()
        serialize(into: &w)
        return w.bytes
    }

    /// Restores a value from exactly `bytes` (trailing bytes are an error).
    public init(serialized bytes: [UInt8]) throws(SerializationError) {
        var r = ByteReader(bytes)
        try self.init(deserializing: &r)
        if !r.isAtEnd {
            throw .invalidValue(field: "\(Self.self)", detail: "\(r.remaining) trailing bytes")
        }
    }
}
