import BenchSupport
import Foundation

/// CPU time of processes and their threads from /proc (Linux), to say where the cores went
/// during the measured window: weir, the broker, this benchmark, and the whole machine.
struct CPUSnapshot {
    var ns: Int64
    /// utime + stime in clock ticks, per pid.
    var process: [Int32: Int64] = [:]
    /// utime + stime per thread of each pid.
    var threads: [Int32: [Int32: Int64]] = [:]
    /// Per thread of each pid: ns on a CPU and ns runnable but waiting for one (/proc/.../schedstat).
    var sched: [Int32: [Int32: (run: Int64, wait: Int64)]] = [:]
    /// Busy ticks of the whole machine (/proc/stat `cpu` line: all but idle and iowait).
    var machineBusy: Int64 = 0

    static let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))

    init(pids: [Int32], threadsOf: Set<Int32>) {
        ns = monoNs()
        for pid in pids {
            process[pid] = Self.ticks("/proc/\(pid)/stat")
            guard threadsOf.contains(pid), let tids = try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task") else { continue }
            var t: [Int32: Int64] = [:]
            var sc: [Int32: (run: Int64, wait: Int64)] = [:]
            for tid in tids {
                guard let id = Int32(tid) else { continue }
                if let v = Self.ticks("/proc/\(pid)/task/\(tid)/stat") { t[id] = v }
                if let x = try? String(contentsOfFile: "/proc/\(pid)/task/\(tid)/schedstat", encoding: .utf8) {
                    let f = x.split(separator: " ").compactMap { Int64($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
                    if f.count >= 2 { sc[id] = (f[0], f[1]) }
                }
            }
            threads[pid] = t
            sched[pid] = sc
        }
        if let s = try? String(contentsOfFile: "/proc/stat", encoding: .utf8), let line = s.split(separator: "\n").first {
            let f = line.split(separator: " ").dropFirst().compactMap { Int64($0) }
            // user nice system idle iowait irq softirq steal ...
            if f.count >= 8 { machineBusy = f[0] + f[1] + f[2] + f[5] + f[6] + f[7] }
        }
    }

    /// utime + stime (fields 14 and 15) of a /proc stat file; the command name may hold spaces.
    static func ticks(_ path: String) -> Int64? {
        guard let s = try? String(contentsOfFile: path, encoding: .utf8), let close = s.lastIndex(of: ")") else { return nil }
        let f = s[s.index(after: close)...].split(separator: " ")
        // After ")": state(3) ppid(4) ... utime is field 14 → index 11 here.
        guard f.count > 12, let u = Int64(f[11]), let k = Int64(f[12]) else { return nil }
        return u + k
    }
}

/// Cores used between two snapshots.
struct CPUUse {
    var weir = 0.0, weirBusiestThread = 0.0, broker = 0.0, bench = 0.0, machine = 0.0
    /// The busiest weir thread's share of the window: on a CPU, runnable but waiting for a CPU
    /// (starved), and the rest: sleeping or blocked (waiting for the broker, a flush, a poll).
    var busiestRunning = 0.0, busiestStarved = 0.0

    init() {}

    init(from a: CPUSnapshot, to b: CPUSnapshot, weir: Int32, broker: Int32, bench: Int32) {
        let secs = Double(b.ns - a.ns) / 1e9
        guard secs > 0 else { return }
        func cores(_ pid: Int32) -> Double {
            guard let x = a.process[pid], let y = b.process[pid] else { return 0 }
            return Double(y - x) / CPUSnapshot.ticksPerSecond / secs
        }
        self.weir = cores(weir)
        self.broker = cores(broker)
        self.bench = cores(bench)
        if let ta = a.threads[weir], let tb = b.threads[weir],
           let (tid, ticks) = tb.compactMap({ tid, v in ta[tid].map { (tid, Double(v - $0)) } }).max(by: { $0.1 < $1.1 }) {
            weirBusiestThread = ticks / CPUSnapshot.ticksPerSecond / secs
            if let x = a.sched[weir]?[tid], let y = b.sched[weir]?[tid] {
                busiestRunning = Double(y.run - x.run) / 1e9 / secs
                busiestStarved = Double(y.wait - x.wait) / 1e9 / secs
            }
        }
        machine = Double(b.machineBusy - a.machineBusy) / CPUSnapshot.ticksPerSecond / secs
    }

    var text: String {
        "weir \(fmt(weir)) (busiest thread \(fmt(weirBusiestThread)): running \(pct(busiestRunning)), waiting for a CPU "
            + "\(pct(busiestStarved)), sleeping/blocked \(pct(max(0, 1 - busiestRunning - busiestStarved)))), broker \(fmt(broker)), LatencyBench (producer + reader) \(fmt(bench)), "
            + "whole machine \(fmt(machine)) of \(ProcessInfo.processInfo.activeProcessorCount)"
    }
}

func pct(_ x: Double) -> String { String(format: "%.0f%%", x * 100) }
