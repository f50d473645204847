/// Parses ISO-8601 date-times to epoch milliseconds without Foundation.
///
/// Accepts `YYYY-MM-DD[T| ]HH:MM:SS[.f{1,9}][Z|z|±HH:MM|±HHMM]`; no zone means UTC.
/// Returns nil on any deviation (bad digits, month 13, day 31 of April, hour 24 ...).
/// - Complexity: O(n), allocation-free.
@inlinable
public func parseISO8601Millis(_ p: UnsafeRawPointer, _ n: Int) -> Int64? {
    @inline(__always) func b(_ i: Int) -> UInt8 { p.load(fromByteOffset: i, as: UInt8.self) }
    @inline(__always) func digits(_ i: Int, _ k: Int) -> Int? {
        guard i + k <= n else { return nil }
        var v = 0
        for j in i..<i + k {
            let c = b(j)
            guard c >= 48 && c <= 57 else { return nil }
            v = v * 10 + Int(c - 48)
        }
        return v
    }
    guard n >= 19, let y = digits(0, 4), b(4) == 45, let mo = digits(5, 2), b(7) == 45, let d = digits(8, 2),
          b(10) == 84 || b(10) == 116 || b(10) == 32,
          let h = digits(11, 2), b(13) == 58, let mi = digits(14, 2), b(16) == 58, let s = digits(17, 2)
    else { return nil }
    guard (1...12).contains(mo), h < 24, mi < 60, s < 61 else { return nil }
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
    let mdays: Int
    switch mo {
    case 2: mdays = leap ? 29 : 28
    case 4, 6, 9, 11: mdays = 30
    default: mdays = 31
    }
    guard d >= 1 && d <= mdays else { return nil }
    var i = 19
    var ms = 0
    if i < n && b(i) == 46 {
        i += 1
        var k = 0
        var frac = 0
        while i < n, b(i) >= 48, b(i) <= 57 {
            if k < 3 { frac = frac * 10 + Int(b(i) - 48) }
            k += 1
            i += 1
        }
        guard k >= 1 && k <= 9 else { return nil }
        var kk = min(k, 3)
        while kk < 3 { frac *= 10; kk += 1 }
        ms = frac
    }
    var offsetMin = 0
    if i < n {
        let c = b(i)
        if c == 90 || c == 122 { i += 1 } else if c == 43 || c == 45 {
            guard let oh = digits(i + 1, 2) else { return nil }
            var j = i + 3
            var om = 0
            if j < n && b(j) == 58 { j += 1 }
            guard let m2 = digits(j, 2) else { return nil }
            om = m2
            j += 2
            guard oh < 24, om < 60 else { return nil }
            offsetMin = (oh * 60 + om) * (c == 45 ? -1 : 1)
            i = j
        } else { return nil }
    }
    guard i == n else { return nil }
    // days from civil (Howard Hinnant)
    let yy = mo <= 2 ? y - 1 : y
    let era = (yy >= 0 ? yy : yy - 399) / 400
    let yoe = yy - era * 400
    let mp = (mo + 9) % 12
    let doy = (153 * mp + 2) / 5 + d - 1
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
    let days = era * 146_097 + doe - 719_468
    let secs = Int64(days) * 86_400 + Int64(h * 3600 + mi * 60 + s) - Int64(offsetMin * 60)
    return secs * 1000 + Int64(ms)
}
