import Dispatch
import Testing
@testable import WeirStats

/// ``BackgroundJob``: the result collected on the owner's thread, and the owner's other duties
/// done while it waits (`wait(every:meanwhile:)`, what a partitioned runner answers serving
/// requests with while its global stage works).
struct BackgroundJobTests {
    @Test func waitingCallsMeanwhileUntilTheWorkEndsAndReturnsItsResult() {
        let release = DispatchSemaphore(value: 0)
        // Without the duties the work gives up after 10 s with -1 (the test fails, never hangs).
        let job = BackgroundJob { () -> Int in
            release.wait(timeout: .now() + 10) == .success ? 42 : -1
        }
        var calls = 0
        // The work ends only once the owner has done its duties five times.
        let result = job.wait(every: .milliseconds(1)) {
            calls += 1
            if calls == 5 { release.signal() }
        }
        #expect(result == 42)
        #expect(calls >= 5)
        #expect(job.isDone)
        // Collected once: waiting again returns at once, without duties.
        let again = job.wait(every: .milliseconds(1)) { calls += 1000 }
        #expect(again == 42)
        #expect(calls < 1000)
        #expect(job.wait() == 42)
    }

    @Test func aJobDoneBeforeTheWaitCallsNothing() {
        let job = BackgroundJob { "done" }
        while !job.isDone {}
        var calls = 0
        #expect(job.wait(every: .milliseconds(1)) { calls += 1 } == "done")
        #expect(calls == 0)
    }
}
