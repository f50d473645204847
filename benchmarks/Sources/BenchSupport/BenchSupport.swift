import MallocInterposerSwift

#if canImport(Glibc)
import Glibc
#endif

/// Wall-clock timing of a closure, in seconds.
public func measureSeconds(_ body: () throws -> Void) rethrows -> Double {
    let clock = ContinuousClock()
    let start = clock.now
    try body()
    let d = clock.now - start
    return Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
}

/// Counts heap allocations made by `body`.
///
/// Real counts only when the process runs with the interposer preloaded
/// (`LD_PRELOAD=<build dir>/libMallocInterposerSwift.so`, which `benchmarks/run.sh` sets);
/// otherwise returns nil so a report never shows a fake zero.
public func countAllocations(_ body: () throws -> Void) rethrows -> Int? {
    guard allocationCountingAvailable else {
        try body()
        return nil
    }
    MallocInterposerSwift.reset()
    MallocInterposerSwift.hook()
    try body()
    MallocInterposerSwift.unhook()
    return MallocInterposerSwift.getStatistics().mallocCount
}

/// True when the malloc interposer is preloaded into this process.
public let allocationCountingAvailable: Bool = {
    guard let preload = getenv("LD_PRELOAD") else { return false }
    return String(cString: preload).contains("MallocInterposer")
}()

/// Peak resident set size of this process in bytes (Linux `VmHWM`), or nil.
public func peakRSSBytes() -> Int? {
    guard let f = fopen("/proc/self/status", "r") else { return nil }
    defer { fclose(f) }
    var line = [CChar](repeating: 0, count: 256)
    while fgets(&line, 256, f) != nil {
        let s = String(cString: line)
        if s.hasPrefix("VmHWM:") {
            let digits = s.filter(\.isNumber)
            return Int(digits).map { $0 * 1024 }
        }
    }
    return nil
}

/// Formats a rate such as 2_345_678 as "2.35 M/s".
public func formatRate(_ perSecond: Double) -> String {
    if perSecond >= 1e6 { return String(format2(perSecond / 1e6)) + " M/s" }
    if perSecond >= 1e3 { return String(format2(perSecond / 1e3)) + " K/s" }
    return String(format2(perSecond)) + " /s"
}

func format2(_ x: Double) -> String {
    let r = (x * 100).rounded() / 100
    return "\(r)"
}
