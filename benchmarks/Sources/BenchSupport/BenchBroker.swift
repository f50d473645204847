import Foundation

/// The uncapped benchmark broker (`/tmp/bench-bin/mock_broker`, built by
/// `../shared/bench/setup.sh`) as a child process of the benchmark.
///
/// It pre-creates `events` (4 partitions) and `drift`, `alerts`, `windows` (1 each) and prints
/// its bootstrap address on line 1 of stdout; other topics are auto-created on first produce.
/// Everything is kept in memory, so start a fresh one when a run produced a lot.
/// Top-level globals are never deinitialised: call ``stop()`` before exiting.
public final class BenchBroker: @unchecked Sendable {
    public let process = Process()
    /// `host:port` of the broker.
    public let bootstrap: String

    /// Starts `binary` and waits for its bootstrap line.
    /// - Throws: ``BenchBrokerError`` when it cannot start or prints no address.
    public init(binary: String = "/tmp/bench-bin/mock_broker") throws {
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            throw BenchBrokerError.missing("\(binary) not found (bash ../shared/bench/setup.sh builds it)")
        }
        process.executableURL = URL(fileURLWithPath: binary)
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        var line = [UInt8]()
        while true {
            let b = out.fileHandleForReading.readData(ofLength: 1)
            if b.isEmpty || b.first == 0x0A { break }
            line.append(b.first!)
        }
        bootstrap = String(decoding: line, as: UTF8.self)
        guard !bootstrap.isEmpty else {
            if process.isRunning { process.terminate() }
            throw BenchBrokerError.noAddress("\(binary) printed no bootstrap address")
        }
    }

    /// The broker's process id.
    public var pid: Int32 { process.processIdentifier }

    /// Stops the broker (SIGTERM) and waits for it.
    public func stop() {
        guard process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
    }

    deinit { stop() }
}

/// Why the benchmark broker did not start.
public enum BenchBrokerError: Error, Equatable, CustomStringConvertible {
    case missing(String)
    case noAddress(String)

    public var description: String {
        switch self {
        case .missing(let s), .noAddress(let s): return s
        }
    }
}
