import Dispatch

/// One computation run on another thread (a global dispatch queue), its result collected on the
/// owner's thread: ``isDone`` polls without blocking, ``wait()`` blocks until the result is there.
/// The work must only touch what it captured (values, or references no one else uses meanwhile).
/// Used for work that a single-threaded loop hands off and collects later (a closed drift window
/// judged, a checkpoint's records packed).
/// - Complexity: one dispatch and one semaphore; the work's own cost on the other thread.
public final class BackgroundJob<Result>: @unchecked Sendable {
    private var result: Result?
    private let done = DispatchSemaphore(value: 0)
    private var signalled = false

    /// Starts `work` at once.
    public init(_ work: @escaping @Sendable () -> Result) {
        DispatchQueue.global(qos: .userInitiated).async {
            self.result = work()
            self.done.signal()
        }
    }

    /// Whether the result is ready (never blocks; the owner's thread only).
    public var isDone: Bool {
        if !signalled && done.wait(timeout: .now()) == .success { signalled = true }
        return signalled
    }

    /// Blocks until the result is ready and returns it, calling `meanwhile` on this thread after
    /// every `interval` of waiting (the owner's thread only; may be called again). For an owner
    /// with other duties while it waits: a runner answers serving requests there.
    public func wait(every interval: DispatchTimeInterval, meanwhile: () -> Void) -> Result {
        while !signalled {
            if done.wait(timeout: .now() + interval) == .success { signalled = true } else { meanwhile() }
        }
        return result!
    }

    /// Blocks until the result is ready and returns it (the owner's thread only; may be called again).
    public func wait() -> Result {
        if !signalled {
            done.wait()
            signalled = true
        }
        return result!
    }
}
