/// Decides whether the next checkpoint is a full image or an increment on the last one, for the
/// checkpoint coordinator and the global stage alike. A pure state machine: the writer asks
/// ``nextIsIncrement(hasBase:)``, writes, and reports what it wrote (``wrote(bytes:increment:)``)
/// or restored (``restored(fullBytes:incrementBytes:)``).
///
/// An increment is written when there is a base (the writer's own last checkpoint, or the chain
/// it restored), fewer than `fullEvery − 1` increments follow the newest full image, and the
/// increments since it total fewer bytes than the image itself. The last rule bounds what a
/// restore reads to about twice the full image whatever the key churn: with 1M keys mostly new
/// (CrashBench, 2026-12-06) one increment was ~0.85 of the image, and a chain of 7 was 6.5 times it.
struct ChainPolicy: Equatable {
    /// Every how many checkpoints one is a full image at most (≥ 1).
    var fullEvery: Int
    /// Increments written or restored since the newest full image.
    private(set) var incrementsSinceFull = 0
    /// Size of the newest full image (0: none yet).
    private(set) var fullBytes = 0
    /// Bytes of the increments since it.
    private(set) var incrementBytes = 0
    /// Size of the newest increment (0: none yet).
    private(set) var lastIncrementBytes = 0

    init(fullEvery: Int) { self.fullEvery = max(1, fullEvery) }

    /// Whether the next checkpoint may be an increment; `hasBase`: the state is still at the mark
    /// of the last checkpoint written or restored.
    func nextIsIncrement(hasBase: Bool) -> Bool {
        hasBase && fullBytes > 0 && incrementsSinceFull + 1 < fullEvery && incrementBytes < fullBytes
    }

    /// Bytes to reserve for the next checkpoint's state: the last one of its kind and an eighth
    /// more (0 before any), so its buffer is not regrown and copied on the way.
    func expectedBytes(increment: Bool) -> Int {
        let last = increment ? lastIncrementBytes : fullBytes
        return last + last / 8
    }

    mutating func wrote(bytes: Int, increment: Bool) {
        if increment {
            incrementsSinceFull += 1
            incrementBytes += bytes
            lastIncrementBytes = bytes
        } else {
            incrementsSinceFull = 0
            fullBytes = bytes
            incrementBytes = 0
        }
    }

    /// A chain was restored: its full image and the sizes of the increments after it.
    mutating func restored(fullBytes: Int, incrementBytes: [Int]) {
        self.fullBytes = fullBytes
        incrementsSinceFull = incrementBytes.count
        self.incrementBytes = incrementBytes.reduce(0, +)
        lastIncrementBytes = incrementBytes.last ?? 0
    }
}
