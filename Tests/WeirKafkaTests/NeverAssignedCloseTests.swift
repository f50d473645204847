import Foundation
import Testing
@testable import WeirKafka

/// librdkafka 2.0.2 crashes when a cooperative-sticky consumer is destroyed after its JoinGroup
/// response and before its first SyncGroup response: the JoinGroup response sets the group's
/// assignor (`rd_kafka_cgrp_handle_JoinGroup`), only the SyncGroup response sets the sticky
/// assignor's state (`rkas_on_assignment_cb`), a SyncGroup response that arrives after the close
/// began is discarded (`rd_kafka_cgrp_handle_SyncGroup_memberstate`: "Dont handle new assignments
/// when terminating"), and `rd_kafka_cgrp_destroy_final` hands the NULL state to
/// `rd_kafka_sticky_assignor_state_destroy`, which asserts it (confluentinc/librdkafka#4312,
/// fixed in 2.3.0 by #4381). Weir used to keep every consumer stopped before its first assignment
/// alive for the rest of the process; ``KafkaConsumer/close(leaveTimeout:)`` now waits for the
/// first assignment instead.
///
/// The window is made wide on the embedded broker by delaying its SyncGroup response by 6 s. Each
/// case runs in a child process (this test binary, filtered to ``closeInTheJoinWindow()``),
/// because the crash ends the process.
@Suite(.timeLimit(.minutes(2)))
struct NeverAssignedCloseTests {
    static let childVariable = "WEIR_NEVER_ASSIGNED_CLOSE_CHILD"

    /// The child's body (runs only in the child process that ``runChild(_:)`` starts): a consumer
    /// whose group chose its assignor but has not answered its SyncGroup yet, closed with
    /// librdkafka's own close (`librdkafka`) or Weir's (`weir`), then destroyed.
    @Test(.enabled(if: ProcessInfo.processInfo.environment[Self.childVariable] != nil,
                   "the child process of the two tests below"))
    func closeInTheJoinWindow() throws {
        let mode = ProcessInfo.processInfo.environment[Self.childVariable] ?? ""
        let broker = try EmbeddedBroker()
        let topic = uniqueName("never-assigned")
        try broker.createTopic(topic, partitions: 2)
        try broker.delayNextResponse(broker: 1, apiKey: 14, milliseconds: 6_000)  // 14: SyncGroup
        let events = EventLog()
        do {
            let c = try KafkaConsumer(configuration: ConsumerConfiguration(
                client: KafkaConfiguration(bootstrapServers: broker.bootstrapServers),
                groupID: uniqueName("g"), offsetReset: .earliest, sessionTimeoutMs: 30_000))
            c.onRebalance = { events.append($0) }
            try c.subscribe([topic])
            let end = Date().addingTimeInterval(30)
            while c.rebalanceProtocol != "COOPERATIVE" && Date() < end { Thread.sleep(forTimeInterval: 0.02) }
            try #require(c.rebalanceProtocol == "COOPERATIVE", "no JoinGroup response within 30 s")
            #expect(events.all.isEmpty, "assigned before the SyncGroup response: the window was missed")
            print("child: assignor chosen, no assignment yet; closing with \(mode)'s close")
            switch mode {
            case "librdkafka": c.closeWithoutLeaving()
            case "weir": c.close()
            default: Issue.record("unknown mode \(mode)")
            }
        }  // the consumer is destroyed here (rd_kafka_destroy)
        print("child: consumer destroyed")
        if mode == "weir" {
            #expect(events.all.contains { if case .assigned(let ps) = $0 { return ps.count == 2 } else { return false } }, "\(events.all)")
        }
    }

    /// Runs ``closeInTheJoinWindow()`` in a child process; its termination and output.
    private func runChild(_ mode: String) throws -> (reason: Process.TerminationReason, status: Int32, output: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
        p.arguments = ["--testing-library", "swift-testing", "--filter", "NeverAssignedCloseTests/closeInTheJoinWindow"]
        p.environment = ProcessInfo.processInfo.environment.merging([Self.childVariable: mode]) { _, b in b }
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationReason, p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    @Test func librdkafkasDestroyCrashesBeforeTheFirstSyncGroupResponse() throws {
        let r = try runChild("librdkafka")
        #expect(r.output.contains("assignor chosen"), "the child did not reach the window:\n\(r.output)")
        #expect(r.reason == .uncaughtSignal && (r.status == SIGABRT || r.status == SIGSEGV),
                "librdkafka no longer crashes here (the librdkafka in use may have #4312's fix): \(r.reason) \(r.status)\n\(r.output)")
        #expect(!r.output.contains("consumer destroyed"))
    }

    @Test func weirsCloseWaitsForTheFirstAssignmentAndTheDestroySurvives() throws {
        let r = try runChild("weir")
        #expect(r.output.contains("assignor chosen"), "the child did not reach the window:\n\(r.output)")
        #expect(r.reason == .exit && r.status == 0, "\(r.reason) \(r.status)\n\(r.output)")
        #expect(r.output.contains("consumer destroyed"))
        #expect(r.output.contains("1 test") && r.output.contains("passed"), "\(r.output)")
    }
}
