import Foundation

/// CPU time of the calling thread, in seconds (what one core spent, whatever the machine's load).
public func threadCPUSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// CPU time of the whole process (every thread: e.g. librdkafka's too), in seconds.
public func processCPUSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// Nanoseconds per item.
public func ns(_ seconds: Double, _ n: Int) -> Double { seconds / Double(n) * 1e9 }
/// Fixed-point text.
public func fmt(_ x: Double, _ digits: Int = 2) -> String { String(format: "%.\(digits)f", x) }
public func verdict(_ ok: Bool) -> String { ok ? "PASS" : "FAIL" }
/// An allocation count, or why there is none.
public func allocText(_ n: Int?) -> String { n.map { "\($0)" } ?? "n/a (run with LD_PRELOAD=…libMallocInterposerSwift.so)" }
