import Dispatch
import Foundation

/// Waits for SIGINT or SIGTERM without killing the process, so commands can shut down cleanly.
enum Signals {
    /// Suspends until SIGINT or SIGTERM arrives; returns its name.
    static func waitForTermination() async -> String {
        await withCheckedContinuation { (cont: CheckedContinuation<String, Never>) in
            let box = SignalBox(cont)
            for (sig, name) in [(SIGINT, "SIGINT"), (SIGTERM, "SIGTERM")] {
                signal(sig, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
                source.setEventHandler { box.fire(name) }
                source.resume()
                box.keep(source)
            }
        }
    }
}

/// Resumes the continuation once, whichever signal comes first. Its state is guarded by a lock.
private final class SignalBox: @unchecked Sendable {
    private let lock = NSLock()
    private var cont: CheckedContinuation<String, Never>?
    private var sources: [any DispatchSourceSignal] = []

    init(_ cont: CheckedContinuation<String, Never>) { self.cont = cont }

    func keep(_ s: any DispatchSourceSignal) {
        lock.lock()
        sources.append(s)
        lock.unlock()
    }

    func fire(_ name: String) {
        lock.lock()
        let c = cont
        cont = nil
        lock.unlock()
        c?.resume(returning: name)
    }
}
