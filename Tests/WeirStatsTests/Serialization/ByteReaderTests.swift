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

    /// Varints against the LEB128 bytes protobuf writes (its documented examples: 1 → 01,
    /// 150 → 96 01, 300 → AC 02), zigzag against its table (0, −1, 1, −2 → 0, 1, 2, 3), and every
    /// boundary back exactly.
    @Test func varintsAndZigzagAreLEB128() throws {
        var w = ByteWriter()
        w.writeVarint(1); w.writeVarint(150); w.writeVarint(300)
        #expect(w.bytes == [0x01, 0x96, 0x01, 0xAC, 0x02])
        var z = ByteWriter()
        for v: Int64 in [0, -1, 1, -2, 2147483647, -2147483648] { z.writeZigzag(v) }
        #expect(z.bytes == [0, 1, 2, 3, 0xFE, 0xFF, 0xFF, 0xFF, 0x0F, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F])
        let unsigned: [UInt64] = [0, 127, 128, 16383, 16384, UInt64(UInt32.max), 1 << 63, .max]
        let signed: [Int64] = [0, -1, 63, -64, 64, -65, .max, .min, .min + 1]
        var all = ByteWriter()
        for v in unsigned { all.writeVarint(v) }
        for v in signed { all.writeZigzag(v) }
        var r = ByteReader(all.bytes)
        for v in unsigned { #expect(try r.readVarint() == v) }
        for v in signed { #expect(try r.readZigzag() == v) }
        #expect(r.isAtEnd)
        var ten = ByteWriter()
        ten.writeVarint(.max)
        #expect(ten.bytes.count == 10)
    }

    /// Compact doubles come back bit for bit (−0, NaN payloads, infinities, integers at the 2^53
    /// boundary, fractions), small integers take one byte and others nine.
    @Test func compactDoublesAreExact() throws {
        let values: [Double] = [0, -0.0, 1, -1, 31, -32, 32, 31.5, -2.25, .pi, .infinity, -.infinity, .nan,
                                Double(bitPattern: 0x7FF8_0000_0000_0123), 9007199254740991, -9007199254740991,
                                9007199254740992, 1e300, .leastNonzeroMagnitude, .ulpOfOne]
        var w = ByteWriter()
        var sizes: [Int] = []
        for v in values {
            let before = w.bytes.count
            w.writeCompact(v)
            sizes.append(w.bytes.count - before)
        }
        var r = ByteReader(w.bytes)
        for v in values { #expect(try r.readCompactDouble().bitPattern == v.bitPattern, "\(v)") }
        #expect(r.isAtEnd)
        #expect(Array(sizes[0...6]) == [1, 9, 1, 1, 1, 1, 2])
        #expect(sizes[7] == 9 && sizes[16] == 9, "31.5 and 2^53 are written whole")
    }

    /// Bad varints are typed errors, never traps: cut short, more than 64 bits, a compact-double
    /// marker that is neither even nor 1.
    /// Writing in place behind a patched length gives the bytes of writing a separate buffer.
    @Test func lengthPrefixedInPlaceEqualsWriteBytes() throws {
        for n in [0, 1, 255, 70_000] {
            let body = (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 31) }
            var a = ByteWriter(), b = ByteWriter()
            a.write(UInt16(7)); b.write(UInt16(7))
            a.writeLengthPrefixed { $0.bytes += body }
            b.writeBytes(body)
            a.write(UInt8(1)); b.write(UInt8(1))
            #expect(a.bytes == b.bytes, "\(n) bytes")
            var r = ByteReader(a.bytes)
            _ = try r.readUInt16()
            #expect(try r.readBytes(field: "body") == body)
        }
    }

    @Test func badVarintsThrow() throws {
        var cut = ByteReader([0x80, 0x80])
        #expect(throws: SerializationError.truncated(offset: 2, needed: 1, available: 0)) { _ = try cut.readVarint() }
        var long = ByteReader([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x02])
        #expect(throws: SerializationError.self) { _ = try long.readVarint() }
        var odd = ByteReader([3])
        #expect(throws: SerializationError.invalidValue(field: "compact double", detail: "marker 3")) { _ = try odd.readCompactDouble() }
        var big = ByteWriter()
        big.writeVarint(UInt64(Int32.max) + 1)
        var r = ByteReader(big.bytes)
        #expect(throws: SerializationError.self) { _ = try r.readVarintCount(field: "id") }
        var wide = ByteWriter()
        wide.writeZigzag(Int64(Int32.max) + 1); wide.writeZigzag(Int64(Int32.min) - 1); wide.writeVarint(UInt64(UInt32.max) + 1)
        var r2 = ByteReader(wide.bytes)
        #expect(throws: SerializationError.self) { _ = try r2.readZigzagInt32(field: "link") }
        #expect(throws: SerializationError.self) { _ = try r2.readZigzagInt32(field: "link") }
        #expect(throws: SerializationError.self) { _ = try r2.readVarintUInt32(field: "gen") }
        var fits = ByteWriter()
        fits.writeZigzag(-1); fits.writeZigzag(Int64(Int32.min)); fits.writeVarint(UInt64(UInt32.max)); fits.writeVarint(7)
        var r3 = ByteReader(fits.bytes)
        #expect(try r3.readZigzagInt32(field: "link") == -1 && r3.readZigzagInt32(field: "link") == .min)
        #expect(try r3.readVarintUInt32(field: "gen") == .max && r3.readVarintCount(field: "n", limit: 7) == 7)
    }
}
