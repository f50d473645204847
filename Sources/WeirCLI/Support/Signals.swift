import Dispatch
import Foundation

/// Set by SIGINT or SIGTERM (which then no longer kill the process), so commands can shut down
/// cleanly: processing loops poll ``isSet``; ``waitForTermination()`` suspends until it is set.
/// State guarded by a lock; the signal sources are kept alive by the flag.
final class StopFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var signalName: String?
    private var sources: [any DispatchSourceSignal] = []

    var isSet: Bool { received != nil }

    /// The signal received, if any.
    var received: String? { lock.withLock { signalName } }

    private func fire(_ name: String) {
        lock.lock()
        if signalName == nil { signalName = name }
        lock.unlock()
    }

    func installSignalHandlers() {
        for (sig, name) in [(SIGINT, "SIGINT"), (SIGTERM, "SIGTERM")] {
            signal(sig, SIG_IGN)
            let s = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            s.setEventHandler { [weak self] in self?.fire(name) }
            s.resume()
            lock.lock()
            sources.append(s)
            lock.unlock()
        }
    }

    /// Suspends until a signal arrives; returns its name.
    func waitForTermination() async -> String {
        while true {
            if let name = received { return name }
            try? await Task.sleep(for: .milliseconds(50))
        }
    }
}
