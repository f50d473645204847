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
    /// Contiguous doubles are written and read with one copy: the bytes equal the per-value
    /// little-endian encoding (written through a non-contiguous collection), also unaligned, for
    /// an empty run, an array slice and values whose bits matter (NaN payloads, -0, subnormals).
    @Test func bulkDoublesEqualThePerValueEncoding() throws {
        var values: [Double] = [0, -0.0, 1.5, -.infinity, .infinity, .leastNonzeroMagnitude, .greatestFiniteMagnitude,
                                Double(bitPattern: 0x7FF8_0000_0000_1234), Double(bitPattern: 0xFFF0_0000_0000_0001)]
        var rng = SplitMix64(seed: 11)
        for _ in 0..<1_000 { values.append(Double(bitPattern: rng.next())) }
        for part in [values[...], values[0..<0], values[3..<17]] {
            let run = Array(part)
            var bulk = ByteWriter(), slow = ByteWriter(), slice = ByteWriter()
            bulk.write(UInt8(7)); slow.write(UInt8(7)); slice.write(UInt8(7))  // unaligned runs
            bulk.write(run)
            slow.write(run.indices.lazy.map { run[$0] })  // not contiguous: the per-value path
            slice.write(part)  // contiguous, not starting at index 0
            #expect(bulk.bytes == slow.bytes)
            #expect(slice.bytes == slow.bytes)
            if let first = run.first {
                let le = (0..<8).map { UInt8(truncatingIfNeeded: first.bitPattern >> (8 * UInt64($0))) }
                #expect(Array(bulk.bytes[9..<17]) == le)
            }
            var r = ByteReader(bulk.bytes)
            #expect(try r.readUInt8() == 7)
            let back = try r.readDoubles(field: "run")
            #expect(back.map(\.bitPattern) == run.map(\.bitPattern))
            #expect(r.isAtEnd)
        }
    }
}
