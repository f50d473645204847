import Foundation
import Testing

/// An external program that some tests run (kcat, a Python that can import given modules),
/// found one way: the repository's `.venv/bin`, then each directory on `PATH` (`scripts/test`
/// puts `.venv/bin` first on `PATH` too).
///
/// A test that needs one declares it with the ``Testing/Trait/requires(_:)`` trait or calls
/// ``require(environment:sourceLocation:)``: when the tool is missing, the test fails if the environment has
/// `CI=true` and is otherwise cancelled with the reason (a visible skip, never a silent pass).
public struct ExternalTool: Sendable, CustomStringConvertible {
    /// What the test needs, e.g. `kcat` or `python with prometheus_client`.
    public let description: String
    /// The executable's absolute path; nil when it was not found.
    public let path: String?

    public init(description: String, path: String?) {
        self.description = description
        self.path = path
    }

    /// The repository root (this file is `Sources/WeirTestSupport/ExternalTool.swift`).
    public static let repoRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Directories searched, in order: `<repo>/.venv/bin`, then `PATH` of `environment`.
    public static func searchDirectories(environment: [String: String] = ProcessInfo.processInfo.environment) -> [String] {
        let path = (environment["PATH"] ?? "").split(separator: ":").map(String.init).filter { !$0.isEmpty }
        return [repoRoot.appendingPathComponent(".venv/bin").path] + path
    }

    /// Every executable named `name` in `directories`, in search order.
    public static func candidates(_ name: String, in directories: [String] = searchDirectories()) -> [String] {
        directories.map { URL(fileURLWithPath: $0).appendingPathComponent(name).path }
            .filter { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// The first executable named `name` in `directories`.
    public static func named(_ name: String, in directories: [String] = searchDirectories()) -> ExternalTool {
        ExternalTool(description: name, path: candidates(name, in: directories).first)
    }

    /// kcat, the independent Kafka client of the end-to-end tests.
    public static var kcat: ExternalTool { named("kcat") }

    /// The first `python3` or `python` in `directories` that imports every one of `modules`.
    public static func python(importing modules: [String], in directories: [String] = searchDirectories()) -> ExternalTool {
        let found = directories.lazy.flatMap { dir in candidates("python3", in: [dir]) + candidates("python", in: [dir]) }
            .first { imports($0, modules) }
        return ExternalTool(description: "python with " + modules.joined(separator: ", "), path: found)
    }

    private static func imports(_ python: String, _ modules: [String]) -> Bool {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: python)
        p.arguments = ["-c", modules.map { "import \($0)" }.joined(separator: "; ")]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        guard (try? p.run()) != nil else { return false }
        p.waitUntilExit()
        return p.terminationStatus == 0
    }

    /// What a test does without this tool: fail on CI (`CI=true`), skip with the reason elsewhere.
    public enum Missing: Equatable, Sendable {
        case fail(String)
        case skip(String)

        public init(_ tools: [ExternalTool], environment: [String: String] = ProcessInfo.processInfo.environment) {
            let reason = "needs " + tools.map(\.description).joined(separator: " and ")
                + ", not found in .venv/bin or on PATH (scripts/test installs it)"
            self = environment["CI"] == "true" ? .fail("CI=true: " + reason) : .skip(reason)
        }
    }

    /// The tool's path; when it is missing, records a failure and throws on CI, or cancels the
    /// running test with the reason elsewhere.
    public func require(environment: [String: String] = ProcessInfo.processInfo.environment,
                        sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        if let path { return path }
        throw MissingToolError(reason: try Self.reportMissing([self], environment: environment, sourceLocation: sourceLocation))
    }

    /// On CI records the failure and returns its reason; elsewhere cancels the running test.
    static func reportMissing(_ tools: [ExternalTool], environment: [String: String] = ProcessInfo.processInfo.environment,
                              sourceLocation: SourceLocation) throws -> String {
        switch Missing(tools, environment: environment) {
        case .fail(let reason):
            Issue.record(Comment(rawValue: reason), sourceLocation: sourceLocation)
            return reason
        case .skip(let reason):
            try Test.cancel(Comment(rawValue: reason), sourceLocation: sourceLocation)
        }
    }
}

/// Thrown after a missing tool was recorded as a failure.
public struct MissingToolError: Error, CustomStringConvertible {
    public let description: String
    init(reason: String) { description = reason }
}

/// The trait behind ``Testing/Trait/requires(_:)``.
public struct RequiresToolsTrait: TestTrait, SuiteTrait, TestScoping {
    public let tools: [ExternalTool]
    public var isRecursive: Bool { true }
    public var comments: [Comment] { [Comment(rawValue: "needs " + tools.map(\.description).joined(separator: " and "))] }

    public func provideScope(for test: Test, testCase: Test.Case?,
                             performing function: @Sendable () async throws -> Void) async throws {
        let missing = tools.filter { $0.path == nil }
        guard missing.isEmpty else {
            _ = try ExternalTool.reportMissing(missing, sourceLocation: test.sourceLocation)
            return  // the body does not run
        }
        try await function()
    }
}

extension Trait where Self == RequiresToolsTrait {
    /// The test (or every test of the suite) runs only with `tools`: when one is missing it fails
    /// on CI (`CI=true`) and is skipped with the reason elsewhere.
    public static func requires(_ tools: ExternalTool...) -> Self { RequiresToolsTrait(tools: tools) }
}
