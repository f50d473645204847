#if canImport(Glibc)
import Glibc
#endif
import WeirJSON
import WeirStats
import WeirTopology

/// Deterministic synthetic events for any topology's schema (`weir generate --topology`), with
/// drift injected from event `driftAt` on.
///
/// Per field type: `double` — normal around the middle of its bounds (or N(50, 15)), clamped
/// to them; `int` — the same, rounded; `bool` — 30 % true; `category` — the declared
/// categories (or `<field>_0…9` for open sets) with Zipf-like weights; `string` — the key field
/// draws from `keys` entities, other strings are unique ids; `timestamp` — the event-time
/// field rises `stepMs` per event with up to half the declared out-of-orderness of disorder,
/// written in the topology's format (epoch millis or ISO-8601). Optional fields are present on
/// 80 % of events, except the model's label field, which is present on `labelRate` of them and
/// follows a fixed logistic (or linear) rule of the numeric inputs.
///
/// Drift from `driftAt` on: numeric fields shift by `shift` standard deviations and the category
/// weights reverse — except the first numeric field that is not the label, which never drifts
/// (a control). Same seed, same events, on every machine.
public struct SchemaEventGenerator: Sendable {
    public var spec: TopologySpec
    public var seed: UInt64
    public var driftAt: Int?
    public var shift: Double
    public var keys: Int
    public var labelRate: Double
    public var startTime: Int64
    public var stepMs: Int64

    public init(spec: TopologySpec, seed: UInt64 = 42, driftAt: Int? = nil, shift: Double = 1.5, keys: Int = 1_000,
                labelRate: Double = 0.3, startTime: Int64 = 1_700_000_000_000, stepMs: Int64 = 10) {
        self.spec = spec
        self.seed = seed
        self.driftAt = driftAt
        self.shift = shift
        self.keys = max(1, keys)
        self.labelRate = labelRate
        self.startTime = startTime
        self.stepMs = stepMs
    }

    var labelField: String? {
        guard let m = spec.model, case .field(let f) = m.labels else { return nil }
        return f
    }

    /// The numeric field that never drifts.
    var controlField: String? {
        spec.schema.first { ($0.type == .double || $0.type == .int) && $0.name != labelField }?.name
    }

    /// Event `i` as one JSON line (no newline).
    public func event(_ i: Int) -> String {
        var w = JSONWriter(capacity: 256)
        write(i, into: &w)
        return w.string
    }

    /// Appends event `i` (one JSON object, no newline) to `w`.
    public func write(_ i: Int, into w: inout JSONWriter) {
        var rng = SplitMix64(seed: seed &+ UInt64(i) &* SplitMix64.increment)
        let drifted = driftAt.map { i >= $0 } ?? false
        var linear = 0.0
        var numericSeen = 0
        w.beginObject()
        for f in spec.schema where f.name != labelField {
            let optional = !f.required && f.name != spec.source.keyField && f.name != spec.source.eventTimeField
            if optional && rng.nextUnit() >= 0.8 { continue }
            w.key(f.name)
            switch f.type {
            case .double, .int:
                let (mean, sd) = Self.center(f)
                var x = mean + sd * rng.nextGaussian()
                if drifted && f.name != controlField { x += shift * sd }
                if let lo = f.min { x = Swift.max(lo, x) }
                if let hi = f.max { x = Swift.min(hi, x) }
                if f.type == .int { x = x.rounded() }
                numericSeen += 1
                linear += (numericSeen % 2 == 0 ? -1 : 1) * (x - mean) / sd
                if f.type == .int { w.value(Int64(x)) } else { w.value(Self.round3(x)) }
            case .bool:
                w.value(rng.nextUnit() < 0.3)
            case .category:
                let names = f.categories ?? (0..<10).map { "\(f.name)_\($0)" }
                var k = Self.zipf(names.count, &rng)
                if drifted { k = names.count - 1 - k }
                w.value(names[k])
            case .string:
                w.value(f.name == spec.source.keyField ? "k\(Int(rng.next() % UInt64(keys)))" : "\(f.name)-\(i)")
            case .timestamp:
                let jitter = spec.source.outOfOrdernessMs > 1 ? Int64(rng.next() % UInt64(spec.source.outOfOrdernessMs / 2)) : 0
                let t = startTime + Int64(i) * stepMs - jitter
                if spec.source.eventTimeFormat == .iso8601 && f.name == spec.source.eventTimeField {
                    w.value(Self.iso8601(t))
                } else {
                    w.value(t)
                }
            }
        }
        if let label = labelField, let field = spec.schema.first(where: { $0.name == label }), rng.nextUnit() < labelRate {
            let z = (drifted ? -1 : 1) * linear * 0.8 - 1
            w.key(label)
            if spec.model?.type == .linear {
                var y = 100 + 10 * z + 2 * rng.nextGaussian()
                if let lo = field.min { y = Swift.max(lo, y) }
                w.value(Self.round3(y))
            } else {
                w.value(rng.nextUnit() < 1 / (1 + exp(-z)) ? 1 : 0)
            }
        }
        w.endObject()
    }

    static func center(_ f: FieldDeclaration) -> (mean: Double, sd: Double) {
        switch (f.min, f.max) {
        case let (lo?, hi?) where hi > lo: return ((lo + hi) / 2, (hi - lo) / 8)
        case let (lo?, nil): return (lo + 50, 15)
        case let (nil, hi?): return (hi - 50, 15)
        default: return (50, 15)
        }
    }

    static func zipf(_ n: Int, _ rng: inout SplitMix64) -> Int {
        var total = 0.0
        for k in 0..<n { total += 1 / Double(k + 1) }
        var u = rng.nextUnit() * total
        for k in 0..<n {
            u -= 1 / Double(k + 1)
            if u < 0 { return k }
        }
        return n - 1
    }

    /// Three decimals, as the generated numbers are written.
    static func round3(_ x: Double) -> Double { (x * 1000).rounded() / 1000 }

    /// `YYYY-MM-DDTHH:MM:SS.mmmZ` (UTC), without Foundation.
    static func iso8601(_ ms: Int64) -> String {
        var t = time_t(ms / 1000)
        var parts = tm()
        gmtime_r(&t, &parts)
        func pad(_ v: Int32, _ w: Int) -> String { let s = String(v); return String(repeating: "0", count: Swift.max(0, w - s.count)) + s }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2)).\(pad(Int32(ms % 1000), 3))Z"
    }
}
