/// An aggregate function over a numeric field, a category field, or the event count.
///
/// Output columns (all finite; empty windows give 0):
/// - `count`: events (no field) or present values of the field.
/// - `sum`, `mean` (= sum / count), `min`, `max`.
/// - `variance` / `std`: sample (n − 1) variance by Welford's update and Chan's merge; 0 below 2 values.
/// - `first` / `last`: the value with the smallest / largest event time (ties: first / last arrival).
/// - `ewma(alpha)`: `s ← alpha·x + (1 − alpha)·s` in arrival order, starting at the first value.
///   Not mergeable (rejected for session windows).
/// - `distinct(precision)`: HyperLogLog estimate (relative standard error `1.04/√2^precision`).
/// - `quantile(q, k)`: KLL estimate; normalised rank error ≈ `2.296/k^0.9723` (k = 200: 1.33%).
/// - `topK(k, capacity)`: SpaceSaving over a category (or int) field; `2k` columns
///   `<name>_<i>_id`, `<name>_<i>_count` (id −1 and count 0 when fewer than i values).
public enum AggregateFunction: Sendable, Equatable {
    case count, sum, mean, variance, std, min, max, first, last
    case ewma(alpha: Double)
    case distinct(precision: Int)
    case quantile(Double, k: Int)
    case topK(Int, capacity: Int)

    /// True when two partial results can be combined exactly (or within the sketch's bound).
    public var isMergeable: Bool { if case .ewma = self { return false } else { return true } }
}

/// One named aggregate of a window: a function over a field (nil = the event count).
public struct AggregateSpec: Sendable, Equatable {
    public var name: String
    public var function: AggregateFunction
    /// The input field; nil only for `count` (count of events).
    public var field: String?

    public init(_ name: String, _ function: AggregateFunction, field: String? = nil) {
        self.name = name
        self.function = function
        self.field = field
    }

    public static func count(_ name: String = "count", field: String? = nil) -> AggregateSpec { .init(name, .count, field: field) }
    public static func sum(_ field: String, as name: String? = nil) -> AggregateSpec { .init(name ?? "sum", .sum, field: field) }
    public static func mean(_ field: String, as name: String? = nil) -> AggregateSpec { .init(name ?? "mean", .mean, field: field) }
    public static func variance(_ field: String, as name: String? = nil) -> AggregateSpec { .init(name ?? "variance", .variance, field: field) }
    public static func std(_ field: String, as name: String? = nil) -> AggregateSpec { .init(name ?? "std", .std, field: field) }
    public static func min(_ field: String, as name: String? = nil) -> AggregateSpec { .init(name ?? "min", .min, field: field) }
    public static func max(_ field: String, as name: String? = nil) -> AggregateSpec { .init(name ?? "max", .max, field: field) }
    public static func first(_ field: String, as name: String? = nil) -> AggregateSpec { .init(name ?? "first", .first, field: field) }
    public static func last(_ field: String, as name: String? = nil) -> AggregateSpec { .init(name ?? "last", .last, field: field) }
    public static func ewma(_ field: String, alpha: Double, as name: String? = nil) -> AggregateSpec { .init(name ?? "ewma", .ewma(alpha: alpha), field: field) }
    public static func distinct(_ field: String, precision: Int = 12, as name: String? = nil) -> AggregateSpec {
        .init(name ?? "distinct", .distinct(precision: precision), field: field)
    }
    public static func quantile(_ field: String, _ q: Double, k: Int = 200, as name: String? = nil) -> AggregateSpec {
        .init(name ?? "q\(q)", .quantile(q, k: k), field: field)
    }
    public static func topK(_ field: String, k: Int, capacity: Int? = nil, as name: String? = nil) -> AggregateSpec {
        .init(name ?? "top", .topK(k, capacity: capacity ?? Swift.max(4 * k, 16)), field: field)
    }

    /// Names of this aggregate's output columns.
    public var columnNames: [String] {
        if case .topK(let k, _) = function {
            return (1...Swift.max(1, k)).flatMap { ["\(name)_\($0)_id", "\(name)_\($0)_count"] }
        }
        return [name]
    }
}
