import Testing
@testable import WeirStats

@Suite struct ByteReaderTests {
    @Test func roundTripScalarsLittleEndian() throws {
        var w = ByteWriter()
        w.writeHeader(tag: "TEST", version: 3)
        w.write(UInt16(0x0102)); w.write(Int32(-5)); w.write(Int64.min); w.write(-0.0); w.write(true)
        w.write([1.5, .infinity]); w.write("héllo")
        #expect(Array(w.bytes[0..<8]) == [84, 69, 83, 84, 3, 0, 2, 1])
        var r = ByteReader(w.bytes)
        #expect(try r.readHeader(tag: "TEST", supportedVersions: 1...3) == 3)
        #expect(try r.readUInt16() == 0x0102)
        #expect(try r.readInt32() == -5)
        #expect(try r.readInt64() == .min)
        #expect(try r.readDouble().bitPattern == (-0.0).bitPattern)
        #expect(try r.readBool())
        #expect(try r.readDoubles(field: "d") == [1.5, .infinity])
        #expect(try r.readString(field: "s") == "héllo")
        #expect(r.isAtEnd)
    }

    @Test func typedErrors() throws {
        var w = ByteWriter()
        w.writeHeader(tag: "ABCD", version: 9)
        var r = ByteReader(w.bytes)
        #expect(throws: SerializationError.unsupportedVersion(tag: "ABCD", version: 9)) {
            try r.readHeader(tag: "ABCD", supportedVersions: 1...2)
        }
        var r2 = ByteReader(w.bytes)
        #expect(throws: SerializationError.badTag(offset: 0, expected: "WXYZ", found: "ABCD")) {
            try r2.readHeader(tag: "WXYZ", supportedVersions: 1...9)
        }
        var r3 = ByteReader([1, 2, 3])
        #expect(throws: SerializationError.truncated(offset: 0, needed: 8, available: 3)) { _ = try r3.readUInt64() }
        var big = ByteWriter()
        big.write(UInt64.max)
        var r4 = ByteReader(big.bytes)
        #expect(throws: SerializationError.self) { _ = try r4.readDoubles(field: "x") }
    }
}
