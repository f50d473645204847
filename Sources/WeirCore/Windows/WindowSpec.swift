/// Window assigners, with Flink's DataStream alignment.
///
/// Event-time windows are `[start, end)` with `start = ts − floorMod(ts − offset, slide)`.
/// - `tumbling(size, offset)`: one window per event.
/// - `hopping(size, hop, offset)`: `ceil(size / hop)` overlapping windows per event; each window is
///   updated directly (exact for every aggregate, EWMA included).
/// - `sliding(length)`: per event, the key's events with time in `(ts − length, ts]` seen so far
///   (window `[ts − length + 1, ts + 1)`), emitted at once (an OVER-style aggregate).
/// - `session(gap)`: `[ts, ts + gap)` per event; sessions that overlap or touch merge.
/// - `count(n)`: every `n` events of a key (arrival order); result `start`/`end` are the window's
///   sequence number `s` and `s + 1`. Not event-time based: never late.
public enum WindowKind: Sendable, Equatable {
    case tumbling(size: Int64, offset: Int64 = 0)
    case hopping(size: Int64, hop: Int64, offset: Int64 = 0)
    case sliding(length: Int64)
    case session(gap: Int64)
    case count(Int)
}

/// What happens when a window operator already holds `maxKeys` keys and a new key arrives.
///
/// Policy: **reject new keys**. The event is not aggregated by this window (its window features
/// read 0), it is counted in ``WindowOperator/Stats/rejectedKeyEvents``, and existing keys are
/// unaffected. Keys are freed when their last window is purged, which makes room again.
public enum KeyLimitPolicy: Sendable, Equatable { case rejectNewKeys }

/// A keyed, windowed aggregation.
public struct WindowSpec: Sendable, Equatable {
    /// Unique name (feature references use it).
    public var name: String
    /// Key field (string, category, int or bool); nil = one global key.
    public var keyField: String?
    public var kind: WindowKind
    /// Allowed lateness in ms (Flink semantics): a fired window is kept until
    /// `watermark ≥ end − 1 + lateness`; events arriving meanwhile update it and re-emit it.
    public var allowedLateness: Int64
    public var aggregates: [AggregateSpec]
    /// Emit window results (otherwise the window only feeds features).
    public var emitResults: Bool
    /// Key-count limit; see ``KeyLimitPolicy``.
    public var maxKeys: Int
    public var keyLimitPolicy: KeyLimitPolicy

    public init(name: String, keyBy keyField: String?, kind: WindowKind, allowedLateness: Int64 = 0,
                aggregates: [AggregateSpec], emitResults: Bool = true, maxKeys: Int = 1_000_000,
                keyLimitPolicy: KeyLimitPolicy = .rejectNewKeys) {
        self.name = name
        self.keyField = keyField
        self.kind = kind
        self.allowedLateness = allowedLateness
        self.aggregates = aggregates
        self.emitResults = emitResults
        self.maxKeys = maxKeys
        self.keyLimitPolicy = keyLimitPolicy
    }
}

/// Why a window result row was emitted.
public enum ResultKind: UInt8, Sendable, Equatable {
    /// First firing: the watermark reached `end − 1`.
    case onTime = 0
    /// A late event (within allowed lateness) updated an already-fired window.
    case lateUpdate = 1
    /// A count window reached its size.
    case countReached = 2
    /// A sliding window's per-event result.
    case perEvent = 3
    /// Emitted by an explicit flush (end of input) before the watermark reached `end − 1`.
    case flushed = 4
}

/// An event dropped from a window because it was later than the allowed lateness.
public struct LateEvent: Sendable, Equatable {
    /// Index of the window operator (graph order).
    public var window: Int
    public var partition: Int32
    public var offset: Int64
    public var eventTime: Int64
    /// The watermark when the event arrived.
    public var watermark: Int64
    /// Row of the record in the graph's record batch of this call.
    public var row: Int

    public init(window: Int, partition: Int32, offset: Int64, eventTime: Int64, watermark: Int64, row: Int) {
        self.window = window; self.partition = partition; self.offset = offset
        self.eventTime = eventTime; self.watermark = watermark; self.row = row
    }
}
