import Foundation

/// What a child process did: exit status, captured output, wall time and peak RSS.
struct ChildResult {
    var status: Int32
    var stdout: Data
    var stderr: String
    var wallSeconds: Double
    /// `Maximum resident set size` reported by `/usr/bin/time -v`, in MiB (nil if unavailable).
    var peakRSSMiB: Double?

    var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
}

func log(_ s: String) { FileHandle.standardError.write(Data((s + "\n").utf8)) }

/// A scratch directory for this benchmark run (outputs, `/usr/bin/time` reports).
let scratch: String = {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fraudbench-\(getpid())").path
    try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}()

/// Runs `path args` under `/usr/bin/time -v` (for peak RSS), stdout to a file (or discarded),
/// stderr captured. Wall time is measured around the whole child.
func runChild(_ path: String, _ args: [String], cwd: String? = nil, keepStdout: Bool = true,
              stdoutFile: String? = nil, timeout: TimeInterval = 1800) throws -> ChildResult {
    let tag = UUID().uuidString.prefix(8)
    let timeFile = "\(scratch)/time-\(tag).txt"
    let outFile = stdoutFile ?? "\(scratch)/out-\(tag).txt"
    let errFile = "\(scratch)/err-\(tag).txt"
    for f in [outFile, errFile] { _ = FileManager.default.createFile(atPath: f, contents: nil) }
    defer {
        try? FileManager.default.removeItem(atPath: timeFile)
        try? FileManager.default.removeItem(atPath: errFile)
        if stdoutFile == nil { try? FileManager.default.removeItem(atPath: outFile) }
    }
    let p = Process()
    let timed = FileManager.default.isExecutableFile(atPath: "/usr/bin/time")
    p.executableURL = URL(fileURLWithPath: timed ? "/usr/bin/time" : path)
    p.arguments = timed ? ["-v", "-o", timeFile, path] + args : args
    if let cwd { p.currentDirectoryURL = URL(fileURLWithPath: cwd) }
    p.standardOutput = keepStdout || stdoutFile != nil ? FileHandle(forWritingAtPath: outFile) : FileHandle.nullDevice
    p.standardError = FileHandle(forWritingAtPath: errFile)
    let clock = ContinuousClock()
    let start = clock.now
    try p.run()
    let deadline = Date().addingTimeInterval(timeout)
    while p.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
    if p.isRunning { p.terminate(); log("  ! \(path) timed out after \(Int(timeout)) s") }
    p.waitUntilExit()
    let wall = seconds(clock.now - start)
    var rss: Double?
    if let t = try? String(contentsOfFile: timeFile, encoding: .utf8),
       let line = t.split(separator: "\n").first(where: { $0.contains("Maximum resident set size") }),
       let kb = Double(line.split(separator: ":").last!.trimmingCharacters(in: .whitespaces)) {
        rss = kb / 1024
    }
    let out = keepStdout ? ((try? Data(contentsOf: URL(fileURLWithPath: outFile))) ?? Data()) : Data()
    let err = (try? String(contentsOfFile: errFile, encoding: .utf8)) ?? ""
    return ChildResult(status: p.terminationStatus, stdout: out, stderr: err, wallSeconds: wall, peakRSSMiB: rss)
}

func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18 }

enum BenchError: Error, CustomStringConvertible {
    case missing(String)
    case failed(String)

    var description: String {
        switch self {
        case .missing(let s), .failed(let s): return s
        }
    }
}

/// `/proc/loadavg`'s first three fields.
func loadAverage() -> String {
    guard let t = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8) else { return "?" }
    return t.split(separator: " ").prefix(3).joined(separator: " ")
}

/// Records of one topic read with kcat (values, one per line); the topics hold JSON without newlines.
func readTopic(_ kcat: String, bootstrap: String, topic: String) throws -> [String] {
    let r = try runChild(kcat, ["-C", "-b", bootstrap, "-t", topic, "-o", "beginning", "-e", "-q", "-f", "%s\\n"], timeout: 120)
    guard r.status == 0 else { throw BenchError.failed("kcat reading \(topic) exited \(r.status): \(r.stderr)") }
    return r.stdoutText.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
}

/// Number of newline-terminated records in `data`.
func countLines(_ data: Data) -> Int { data.withUnsafeBytes { $0.reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) } } }
