import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A line-oriented log destination (standard error by default). One `write` is one whole line,
/// written with a single `write(2)` under a lock, so lines from several threads never interleave.
public final class LogOutput: @unchecked Sendable {
    private let lock = NSLock()
    private let descriptor: Int32
    /// Lines captured instead of written (tests).
    private var captured: [String]?

    /// Standard error.
    public static let standardError = LogOutput(descriptor: 2)

    public init(descriptor: Int32) {
        self.descriptor = descriptor
    }

    /// An output that keeps lines in memory (for tests), see ``lines``.
    public static func capturing() -> LogOutput {
        let o = LogOutput(descriptor: -1)
        o.captured = []
        return o
    }

    /// The lines written to a capturing output.
    public var lines: [String] { lock.withLock { captured ?? [] } }

    /// Writes `line` and a newline.
    public func write(line: String) {
        lock.withLock {
            if captured != nil { captured!.append(line); return }
            var bytes = Array(line.utf8)
            bytes.append(0x0A)
            var done = 0
            while done < bytes.count {
                let n = bytes.withUnsafeBytes { Foundation.write(descriptor, $0.baseAddress! + done, $0.count - done) }
                if n <= 0 { if n < 0 && errno == EINTR { continue }; return }
                done += n
            }
        }
    }
}
