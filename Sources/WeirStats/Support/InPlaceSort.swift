/// In-place, allocation-free sorting of `Double` buffers (introsort: median-of-three quicksort,
/// insertion sort for short runs, heapsort past a depth limit).
///
/// Swift's standard `sort()` may allocate a scratch buffer; sketches and window closes use this
/// instead so steady-state updates never touch the heap. Inputs must not contain NaN
/// (the order of NaNs is unspecified, but the call never traps).
/// - Complexity: O(n log n) worst case, O(1) extra memory.
public enum InPlaceSort {
    /// Sorts `buffer` ascending.
    @inlinable
    public static func sort(_ buffer: UnsafeMutableBufferPointer<Double>) {
        guard buffer.count > 1, let base = buffer.baseAddress else { return }
        var depth = 0
        var n = buffer.count
        while n > 0 { depth += 2; n >>= 1 }
        introsort(base, 0, buffer.count - 1, depth)
    }

    /// Sorts `array` ascending in place.
    @inlinable
    public static func sort(_ array: inout [Double]) {
        array.withUnsafeMutableBufferPointer { sort($0) }
    }

    @inlinable
    static func introsort(_ a: UnsafeMutablePointer<Double>, _ lo0: Int, _ hi0: Int, _ depth0: Int) {
        var lo = lo0
        var hi = hi0
        var depth = depth0
        while hi - lo > 16 {
            if depth == 0 {
                heapsort(a + lo, hi - lo + 1)
                return
            }
            depth -= 1
            // median of three into a[lo]
            let mid = lo + (hi - lo) / 2
            if a[mid] < a[lo] { swapAt(a, mid, lo) }
            if a[hi] < a[lo] { swapAt(a, hi, lo) }
            if a[hi] < a[mid] { swapAt(a, hi, mid) }
            let pivot = a[mid]
            var i = lo
            var j = hi
            while i <= j {
                while a[i] < pivot { i += 1 }
                while pivot < a[j] { j -= 1 }
                if i <= j {
                    swapAt(a, i, j)
                    i += 1
                    j -= 1
                }
            }
            // recurse into the smaller side, loop on the larger
            if j - lo < hi - i {
                if lo < j { introsort(a, lo, j, depth) }
                lo = i
            } else {
                if i < hi { introsort(a, i, hi, depth) }
                hi = j
            }
        }
        insertion(a, lo, hi)
    }

    @inlinable @inline(__always)
    static func swapAt(_ a: UnsafeMutablePointer<Double>, _ i: Int, _ j: Int) {
        let t = a[i]; a[i] = a[j]; a[j] = t
    }

    @inlinable
    static func insertion(_ a: UnsafeMutablePointer<Double>, _ lo: Int, _ hi: Int) {
        guard lo < hi else { return }
        for i in (lo + 1)...hi {
            let v = a[i]
            var j = i - 1
            while j >= lo && v < a[j] {
                a[j + 1] = a[j]
                j -= 1
            }
            a[j + 1] = v
        }
    }

    @inlinable
    static func heapsort(_ a: UnsafeMutablePointer<Double>, _ n: Int) {
        func sift(_ start: Int, _ end: Int) {
            var root = start
            while 2 * root + 1 < end {
                var child = 2 * root + 1
                if child + 1 < end && a[child] < a[child + 1] { child += 1 }
                if a[root] < a[child] {
                    swapAt(a, root, child)
                    root = child
                } else { return }
            }
        }
        var start = n / 2 - 1
        while start >= 0 { sift(start, n); start -= 1 }
        var end = n - 1
        while end > 0 {
            swapAt(a, 0, end)
            sift(0, end)
            end -= 1
        }
    }
}
