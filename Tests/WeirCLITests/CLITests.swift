import Foundation
import Testing
import WeirTestSupport

/// The `weir` executable, built next to the test bundle by `swift build --build-tests`.
let weirBinary: URL = {
    var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    while !FileManager.default.fileExists(atPath: dir.appendingPathComponent("weir").path) && dir.path != "/" {
        dir.deleteLastPathComponent()
    }
    return dir.appendingPathComponent("weir")
}()

let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

func launch(_ args: [String]) throws -> (Process, Pipe, Pipe) {
    let p = Process()
    p.executableURL = weirBinary
    p.arguments = args
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    return (p, out, err)
}

/// Runs `weir` to completion with `env` merged into the environment (variables starting with
/// `dropPrefix` removed first); returns its exit status and standard error.
func runWeir(_ args: [String], env: [String: String] = [:], dropPrefix: String? = nil) throws -> (status: Int32, stderr: String) {
    let p = Process()
    p.executableURL = weirBinary
    p.arguments = args
    p.environment = ProcessInfo.processInfo.environment.filter { dropPrefix == nil || !$0.key.hasPrefix(dropPrefix!) }
        .merging(env) { _, b in b }
    let err = Pipe()
    p.standardOutput = FileHandle.nullDevice
    p.standardError = err
    try p.run()
    let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    p.waitUntilExit()
    return (p.terminationStatus, text)
}

@Suite(.serialized, .timeLimit(.minutes(1)))
struct CLITests {
    @Test func weirBinaryIsBuilt() {
        #expect(FileManager.default.isExecutableFile(atPath: weirBinary.path), "\(weirBinary.path)")
    }

    #if os(Linux)
    /// On Linux `weir` allocates through jemalloc (Package.swift links it ahead of libc): with
    /// `MALLOC_CONF=stats_print:true` jemalloc itself prints its statistics when the process
    /// exits, which only happens if it, not glibc, serves malloc.
    @Test func weirAllocatesThroughJemalloc() throws {
        let (status, text) = try runWeir(["validate", repoRoot.appendingPathComponent("topologies/card-fraud.yaml").path],
                                         env: ["MALLOC_CONF": "stats_print:true"])
        #expect(status == 0)
        #expect(text.contains("Begin jemalloc statistics"), "\(text.prefix(500))")
    }
    #endif

    /// `weir broker` prints its bootstrap address, writes it to --bootstrap-file, serves the
    /// requested topics to an independent client (kcat), and exits 0 on SIGTERM.
    @Test(.requires(.kcat)) func brokerServesTopicsAndStopsOnSIGTERM() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("weir-bs-\(UUID().uuidString)").path
        let (p, out, _) = try launch(["broker", "--topic", "orders:3", "--topic", "audit", "--bootstrap-file", file])
        let deadline = Date().addingTimeInterval(20)
        while !FileManager.default.fileExists(atPath: file) && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        let bootstrap = try String(contentsOfFile: file, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(bootstrap.hasPrefix("127.0.0.1:"))
        let text = try tool("kcat", ["-L", "-b", bootstrap, "-t", "orders"])
        #expect(text.contains("topic \"orders\" with 3 partitions"), "\(text)")
        p.terminate()  // SIGTERM
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
        let printed = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(printed.split(separator: "\n").first.map(String.init) == bootstrap)
    }

    @Test func brokerRejectsBadTopicSpec() throws {
        let (p, _, err) = try launch(["broker", "--topic", "orders:zero"])
        p.waitUntilExit()
        #expect(p.terminationStatus != 0)
        let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(text.contains("--topic orders:zero: partitions must be a positive integer"))
    }

    @Test func validateExitCodes() throws {
        let (ok, _, _) = try launch(["validate", repoRoot.appendingPathComponent("topologies/card-fraud.yaml").path])
        ok.waitUntilExit()
        #expect(ok.terminationStatus == 0)
        let broken = repoRoot.appendingPathComponent("Tests/WeirTopologyTests/Broken/many-errors.yaml").path
        let (bad, _, err) = try launch(["validate", broken])
        bad.waitUntilExit()
        #expect(bad.terminationStatus == 1)
        let lines = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).split(separator: "\n")
        #expect(lines.filter { $0.contains(": error: ") }.count == 5)
        #expect(lines.first?.hasPrefix("\(broken):11:11: error:") == true)
    }

    /// `weir validate` also compiles the topology as `weir run` and `weir replay` do, so what
    /// only the compiler refuses (here an expression deeper than the 64-value program stack) is
    /// reported by validate too, at the feature.
    @Test func validateReportsWhatOnlyTheCompilerRefuses() throws {
        let deep = (0..<70).map { _ in "x + (" }.joined() + "x" + String(repeating: ")", count: 70)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("weir-deep-\(UUID().uuidString).yaml").path
        try """
            name: deep
            source: {topics: [in], event_time: ts}
            schema: {ts: timestamp, x: double, label: {type: int, required: false}}
            features:
              d: "\(deep)"
            model:
              inputs: [d]

            """.write(toFile: path, atomically: true, encoding: .utf8)
        let (p, _, err) = try launch(["validate", path])
        p.waitUntilExit()
        #expect(p.terminationStatus == 1)
        let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(text.contains("\(path):5:3: error: feature 'd'"), "\(text)")
    }
}
