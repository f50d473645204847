import Foundation
import WeirJSON
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Everything written to the process's standard error passes through here: librdkafka's own log
/// lines (`%4|1795439793.730|CONFWARN|client| message`), and any stray write by code that does not
/// use swift-log. In JSON mode each line that is not already a JSON object becomes one
/// (`label` `librdkafka` or `stderr`, librdkafka's syslog level mapped to swift-log's); in every
/// mode each configured secret value is replaced by `<redacted>` before the line is written.
///
/// Standard error (fd 2) is replaced by a pipe read by one thread; log handlers write to
/// ``output`` (the original standard error) directly. At exit the pipe is drained (at most 2 s),
/// so the last lines (e.g. a fatal error) are not lost. Lines are never reordered relative to each
/// other within the pipe, but a log record may overtake a stray line written just before it.
public final class StderrGuard: @unchecked Sendable {
    /// Writes to the original standard error: give it to the log handlers.
    public let output: LogOutput
    private let format: LogFormat
    private let secrets: [String]
    private let readEnd: Int32
    private let originalStderr: Int32
    private let finished = DispatchSemaphore(value: 0)

    nonisolated(unsafe) private static var installed: StderrGuard?

    private init(format: LogFormat, secrets: [String], readEnd: Int32, original: Int32) {
        self.format = format
        self.secrets = secrets.filter { $0.count >= 3 }.sorted { $0.count > $1.count }
        self.readEnd = readEnd
        originalStderr = original
        output = LogOutput(descriptor: original)
    }

    /// Redirects standard error through a guard (once per process; later calls return the first).
    /// - Parameter secrets: values that must never be printed (e.g. every secret property's value).
    /// - Returns: nil when the pipe cannot be created (standard error is then left alone).
    public static func install(format: LogFormat, secrets: [String]) -> StderrGuard? {
        if let installed { return installed }
        var fds: [Int32] = [0, 0]
        let original = dup(2)
        guard original >= 0, pipe(&fds) == 0 else { return nil }
        fflush(nil)  // every C stream (stderr included)
        guard dup2(fds[1], 2) >= 0 else { return nil }
        close(fds[1])
        let g = StderrGuard(format: format, secrets: secrets, readEnd: fds[0], original: original)
        installed = g
        let thread = Thread { g.pump() }
        thread.name = "weir-stderr"
        thread.start()
        atexit { StderrGuard.installed?.drain() }
        return g
    }

    /// Puts the original standard error back and waits (≤ 2 s) until every piped line is written.
    public func drain() {
        fflush(nil)  // every C stream (stderr included)
        dup2(originalStderr, 2)  // closes the pipe's last write end: the reader sees EOF
        _ = finished.wait(timeout: .now() + 2)
    }

    private func pump() {
        var pending: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16_384)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(readEnd, $0.baseAddress!, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            pending.append(contentsOf: buffer[0..<n])
            while let nl = pending.firstIndex(of: 0x0A) {
                emit(String(decoding: pending[..<nl], as: UTF8.self))
                pending.removeSubrange(...nl)
            }
        }
        if !pending.isEmpty { emit(String(decoding: pending, as: UTF8.self)) }
        finished.signal()
    }

    func emit(_ raw: String) {
        output.write(line: rewrite(raw))
    }

    /// The line as written: secrets redacted, and in JSON mode wrapped unless already an object.
    func rewrite(_ raw: String) -> String {
        var line = raw
        for s in secrets where line.contains(s) { line = line.replacingOccurrences(of: s, with: "<redacted>") }
        guard format == .json else { return line }
        if line.hasPrefix("{"), (try? JSONSerialization.jsonObject(with: Data(line.utf8))) is [String: Any] { return line }
        return Self.wrap(line)
    }

    /// A JSON log record for a non-JSON stderr line; librdkafka's `%LEVEL|time|FACILITY|client| text`
    /// keeps its level, facility and client as fields.
    static func wrap(_ line: String) -> String {
        var level = "error"
        var label = "stderr"
        var message = line
        var metadata: [(String, String)] = []
        let parts = line.split(separator: "|", maxSplits: 4, omittingEmptySubsequences: false)
        if line.hasPrefix("%"), parts.count == 5, let syslog = Int(parts[0].dropFirst()) {
            label = "librdkafka"
            switch syslog {
            case ...2: level = "critical"
            case 3: level = "error"
            case 4: level = "warning"
            case 5: level = "notice"
            case 6: level = "info"
            default: level = "debug"
            }
            metadata = [("client", String(parts[3])), ("facility", String(parts[2]))]
            message = parts[4].trimmingCharacters(in: .whitespaces)
        }
        var w = JSONWriter()
        w.beginObject()
        w.field("ts", LogTimestamp.now())
        w.field("level", level)
        w.field("label", label)
        w.field("message", message)
        if !metadata.isEmpty {
            w.beginObject("metadata")
            for (k, v) in metadata { w.field(k, v) }
            w.endObject()
        }
        w.endObject()
        return w.string
    }

    /// For tests: a guard that only rewrites (no pipe, no thread).
    static func rewriter(format: LogFormat, secrets: [String]) -> StderrGuard {
        StderrGuard(format: format, secrets: secrets, readEnd: -1, original: -1)
    }
}
