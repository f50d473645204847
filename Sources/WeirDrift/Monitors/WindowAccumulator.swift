import WeirStats

/// One open current window of one field: quality counters, the capped reservoir sample (numeric)
/// or category counts (categorical). Reset and reused, so steady-state feeding never allocates.
@usableFromInline
struct WindowAccumulator: Sendable {
    @usableFromInline var start: Int64
    @usableFromInline var end: Int64
    @usableFromInline var quality = QualityCounters()
    @usableFromInline var sample: ReservoirSample
    @usableFromInline var categories = CategoryCounts()
    /// The window's model inputs (score monitors under a fixed model only).
    @usableFromInline var inputs: InputSample?
    /// Earliest and latest event time fed to the window (`.max`/`.min` when none had one).
    @usableFromInline var firstEventTime = Int64.max
    @usableFromInline var lastEventTime = Int64.min
    /// Values that went to the overflow category (see ``MonitorConfig/maxCategories``).
    @usableFromInline var categoryOverflow = 0

    init(start: Int64, end: Int64, cap: Int, seed: UInt64) throws(StatsError) {
        self.start = start
        self.end = end
        sample = try ReservoirSample(capacity: cap, seed: seed)
    }

    mutating func reset(start: Int64, end: Int64) {
        self.start = start
        self.end = end
        quality.reset()
        sample.reset()
        categories.reset()
        inputs?.reset()
        firstEventTime = .max
        lastEventTime = .min
        categoryOverflow = 0
    }

    /// Widens the window's event-time span to `t` (ms).
    @inlinable @inline(__always)
    mutating func noteEventTime(_ t: Int64) {
        if t < firstEventTime { firstEventTime = t }
        if t > lastEventTime { lastEventTime = t }
    }

    /// `[first, last]` event time of the window's events, nil when none had one.
    var eventTimeSpan: (first: Int64, last: Int64)? {
        firstEventTime <= lastEventTime ? (firstEventTime, lastEventTime) : nil
    }

    @inlinable @inline(__always)
    mutating func add(_ v: MonitoredValue, kind: FieldKind, range: ClosedRange<Double>?) {
        switch v {
        case .number(let x):
            if kind == .numeric {
                if quality.record(x, range: range) { sample.add(x) }
            } else {
                quality.recordInvalidType()
            }
        case .category(let id):
            if kind == .categorical {
                quality.recordCategory(known: true)   // new categories are counted at close
                categories.add(id)
                if id == FieldMonitor.overflowCategory { categoryOverflow &+= 1 }
            } else {
                quality.recordInvalidType()
            }
        case .missing: quality.recordMissing()
        case .invalidType: quality.recordInvalidType()
        }
    }
}

/// One observation of a monitored field, as the topology hands it over (no allocation).
public enum MonitoredValue: Sendable, Equatable {
    /// A numeric value (NaN and ±Inf are counted in quality and excluded from statistics).
    case number(Double)
    /// An interned category id.
    case category(Int32)
    /// Field absent or null.
    case missing
    /// Present with the wrong type.
    case invalidType
}

extension WindowAccumulator {
    /// A tiny shared accumulator swapped in while a window is being closed (so the closing window's
    /// buffers stay uniquely referenced and are reused without copying).
    static let placeholder: WindowAccumulator = {
        // capacity 1 is always valid
        (try? WindowAccumulator(start: 0, end: 0, cap: 1, seed: 0))!
    }()
}
