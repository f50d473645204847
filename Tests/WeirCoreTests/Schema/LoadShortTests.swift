import Testing
@testable import WeirCore

/// The short-key word (inline codes, hashing) equals the little-endian bytes, zero-padded, for
/// every length 0...8, and never reads past the run (checked at the end of a buffer).
@Suite struct LoadShortTests {
    @Test func loadShortIsTheLittleEndianZeroPaddedWord() {
        let bytes: [UInt8] = [0x11, 0xA2, 0x33, 0xF4, 0x55, 0x06, 0x77, 0x88]
        for n in 0...8 {
            // the run sits at the very end of an exactly sized buffer
            let run = Array(bytes.prefix(n))
            var want: UInt64 = 0
            for (i, b) in run.enumerated() { want |= UInt64(b) << (8 * UInt64(i)) }
            let got = run.withUnsafeBytes { loadShort($0.baseAddress ?? UnsafeRawPointer(bitPattern: 8)!, n) }
            #expect(got == want, "n = \(n)")
        }
    }
}
