/// The memory budget of a pipeline's window state, as a state machine: it is fed the state's
/// size after each batch and returns what to do when its level changes.
///
/// Levels: `normal`; `pressure` from 80% of the limit (reported: log, metric, readiness
/// reason); `refusingNewKeys` from 100% (the window operators stop adding keys; keys already
/// held keep working, events of new keys count as rejected-key events and their window features
/// read 0). It steps back down with hysteresis: `refusingNewKeys` ends below 90%, `pressure`
/// below 70%, so a state hovering at a threshold does not flap.
///
/// No I/O: the pipeline applies ``Change/admitNewKeys``; the runner logs and publishes ``level``.
/// - Complexity: O(1) per observation.
public struct StateBudget: Sendable, Equatable {
    /// How close the state is to its limit.
    public enum Level: Int, Sendable, Equatable, Comparable, CustomStringConvertible {
        case normal = 0, pressure = 1, refusingNewKeys = 2
        public static func < (a: Level, b: Level) -> Bool { a.rawValue < b.rawValue }
        public var description: String {
            switch self {
            case .normal: "normal"
            case .pressure: "pressure"
            case .refusingNewKeys: "refusing new keys"
            }
        }
    }

    /// A level change and what follows from it.
    public struct Change: Sendable, Equatable {
        public var from: Level
        public var to: Level
        /// State bytes observed when the level changed.
        public var bytes: Int
        public var limit: Int
        /// Whether window operators may add keys from now on.
        public var admitNewKeys: Bool { to != .refusingNewKeys }
    }

    /// The budget in bytes.
    public let limit: Int
    public private(set) var level: Level = .normal
    /// Bytes at the last observation.
    public private(set) var bytes = 0

    /// Fractions of the limit where levels start and end.
    public static let pressureAt = 0.8, pressureEndsBelow = 0.7
    public static let refuseAt = 1.0, refuseEndsBelow = 0.9

    public init(limit: Int) {
        precondition(limit > 0, "a state budget needs a positive limit")
        self.limit = limit
    }

    /// Records the state's size; returns the change when the level moved.
    public mutating func observe(bytes: Int) -> Change? {
        self.bytes = bytes
        let f = Double(bytes) / Double(limit)
        var next = level
        switch level {
        case .normal:
            if f >= Self.refuseAt { next = .refusingNewKeys } else if f >= Self.pressureAt { next = .pressure }
        case .pressure:
            if f >= Self.refuseAt { next = .refusingNewKeys } else if f < Self.pressureEndsBelow { next = .normal }
        case .refusingNewKeys:
            if f < Self.pressureEndsBelow { next = .normal } else if f < Self.refuseEndsBelow { next = .pressure }
        }
        guard next != level else { return nil }
        let change = Change(from: level, to: next, bytes: bytes, limit: limit)
        level = next
        return change
    }

    /// A one-line description for logs and readiness reasons.
    public var summary: String { "window state \(Self.size(bytes)) of its \(Self.size(limit)) budget (\(level))" }

    /// Bytes for people: whole MiB from 1 MiB up, else whole KiB.
    public static func size(_ bytes: Int) -> String {
        bytes >= 1_048_576 ? "\(Int((Double(bytes) / 1_048_576).rounded())) MiB" : "\(bytes / 1024) KiB"
    }
}
