import Foundation
import Testing
import WeirTestSupport

/// The one tool finder: search order, executability, the Python import check, and what a missing
/// tool does (a failure with `CI=true`, a skip with the reason elsewhere).
@Suite struct ExternalToolTests {
    /// A fresh directory with executable scripts `name → body`.
    static func dir(_ scripts: [String: String], nonExecutable: [String] = []) throws -> String {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("weir-tools-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        for (name, body) in scripts {
            let path = d + "/" + name
            try ("#!/bin/sh\n" + body + "\n").write(toFile: path, atomically: true, encoding: .utf8)
            try FileManager.default.setAttributes([.posixPermissions: nonExecutable.contains(name) ? 0o644 : 0o755], ofItemAtPath: path)
        }
        return d
    }

    @Test func findsTheFirstExecutableInSearchOrder() throws {
        let a = try Self.dir(["kcat": "exit 0"], nonExecutable: ["kcat"])
        let b = try Self.dir(["kcat": "exit 0"])
        let c = try Self.dir(["kcat": "exit 0"])
        #expect(ExternalTool.named("kcat", in: [a, b, c]).path == b + "/kcat")
        #expect(ExternalTool.named("kcat", in: [a]).path == nil, "not executable")
        #expect(ExternalTool.named("kcat", in: ["/nonexistent"]).path == nil)
        #expect(ExternalTool.named("kcat", in: [a]).description == "kcat")
    }

    @Test func searchesTheRepositoryVenvThenPATH() {
        let dirs = ExternalTool.searchDirectories(environment: ["PATH": "/x/bin::/y/bin"])
        #expect(dirs == [ExternalTool.repoRoot.appendingPathComponent(".venv/bin").path, "/x/bin", "/y/bin"])
        #expect(FileManager.default.fileExists(atPath: ExternalTool.repoRoot.appendingPathComponent("Package.swift").path))
    }

    @Test func pythonIsTheFirstThatImportsEveryModule() throws {
        // fake interpreters: `-c "import a; import b"` succeeds unless it names a module they lack
        let lacking = try Self.dir(["python3": "case \"$2\" in *prometheus_client*) exit 1;; esac; exit 0"])
        let full = try Self.dir(["python": "exit 0"])
        let found = ExternalTool.python(importing: ["jsonschema", "prometheus_client"], in: [lacking, full])
        #expect(found.path == full + "/python")
        #expect(found.description == "python with jsonschema, prometheus_client")
        #expect(ExternalTool.python(importing: ["jsonschema"], in: [lacking, full]).path == lacking + "/python3")
        #expect(ExternalTool.python(importing: ["prometheus_client"], in: [lacking]).path == nil)
    }

    @Test func missingToolFailsOnCIAndSkipsElsewhere() {
        let kcat = ExternalTool(description: "kcat", path: nil)
        guard case .fail(let reason) = ExternalTool.Missing([kcat], environment: ["CI": "true"]) else {
            Issue.record("CI=true must turn a missing tool into a failure")
            return
        }
        #expect(reason.contains("kcat"))
        for env in [[:], ["CI": "false"]] {
            guard case .skip(let why) = ExternalTool.Missing([kcat], environment: env) else {
                Issue.record("without CI=true a missing tool is a skip: \(env)")
                continue
            }
            #expect(why.contains("kcat") && why.contains("scripts/test"))
        }
    }

    @Test func requireReturnsThePathOrRecordsTheFailureOnCI() throws {
        let present = ExternalTool(description: "kcat", path: "/usr/bin/kcat")
        #expect(try present.require(environment: ["CI": "true"]) == "/usr/bin/kcat")
        let missing = ExternalTool(description: "kcat", path: nil)
        try withKnownIssue("a missing tool on CI is a recorded failure, then a thrown error") {
            _ = try missing.require(environment: ["CI": "true"])
        } matching: { issue in
            issue.comments.contains { $0.rawValue.contains("kcat") } || issue.error is MissingToolError
        }
    }
}
