/// A reusable LSD radix sorter for `Double` arrays (11-bit digits over the order-preserving
/// bit transform), several times faster than comparison sorting for window-sized arrays.
///
/// Owns its scratch buffers, so after the first call at a given size it never allocates.
/// Passes whose digit is equal for every key are skipped. The order matches `<` for all
/// non-NaN values (`-0.0` sorts before `+0.0`, which compare equal); NaNs sort last.
/// Arrays shorter than 512 fall back to ``InPlaceSort``.
/// - Complexity: O(6·n + 6·2048) time; O(n) scratch memory kept between calls.
public struct DoubleSorter: Sendable {
    var keys: [UInt64]
    var tmp: [UInt64]
    var histogram: [Int]

    public init() {
        keys = []
        tmp = []
        histogram = [Int](repeating: 0, count: 6 * 2048)
    }

    /// Sorts `values` ascending in place.
    public mutating func sort(_ values: inout [Double]) {
        let n = values.count
        if n < 512 {
            InPlaceSort.sort(&values)
            return
        }
        if keys.count < n {
            keys = [UInt64](repeating: 0, count: n)
            tmp = [UInt64](repeating: 0, count: n)
        }
        for i in histogram.indices { histogram[i] = 0 }
        values.withUnsafeMutableBufferPointer { v in
            keys.withUnsafeMutableBufferPointer { k in
                tmp.withUnsafeMutableBufferPointer { t in
                    histogram.withUnsafeMutableBufferPointer { h in
                        for i in 0..<n {
                            let b = v[i].bitPattern
                            let key = (b >> 63) == 1 ? ~b : b | 0x8000_0000_0000_0000
                            k[i] = key
                            for p in 0..<6 { h[p * 2048 + Int((key >> UInt64(11 * p)) & 0x7FF)] += 1 }
                        }
                        var src = k, dst = t
                        for p in 0..<6 {
                            let base = p * 2048
                            let firstKey = (src[0] >> UInt64(11 * p)) & 0x7FF
                            if h[base + Int(firstKey)] == n { continue }  // every key has this digit
                            var sum = 0
                            for d in 0..<2048 {
                                let c = h[base + d]
                                h[base + d] = sum
                                sum += c
                            }
                            for i in 0..<n {
                                let key = src[i]
                                let d = base + Int((key >> UInt64(11 * p)) & 0x7FF)
                                dst[h[d]] = key
                                h[d] += 1
                            }
                            swap(&src, &dst)
                        }
                        for i in 0..<n {
                            let key = src[i]
                            let b = (key >> 63) == 1 ? key & 0x7FFF_FFFF_FFFF_FFFF : ~key
                            v[i] = Double(bitPattern: b)
                        }
                    }
                }
            }
        }
    }
}

extension ReservoirSample {
    /// Like ``sortedValues(into:)`` but radix-sorted with a reusable `sorter`.
    public func sortedValues(into out: inout [Double], using sorter: inout DoubleSorter) {
        out.removeAll(keepingCapacity: true)
        out.append(contentsOf: buffer)
        sorter.sort(&out)
    }
}
