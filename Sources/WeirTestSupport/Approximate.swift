/// True when `a` and `b` agree within `relative` tolerance (scaled by the larger magnitude),
/// or within `absolute` for values near zero. NaN equals nothing.
public func isClose(_ a: Double, _ b: Double, relative: Double = 1e-9, absolute: Double = 0) -> Bool {
    if a == b { return true }
    if a.isNaN || b.isNaN { return false }
    let diff = abs(a - b)
    return diff <= absolute || diff <= relative * max(abs(a), abs(b))
}
