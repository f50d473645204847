#if canImport(Glibc)
import Glibc
#endif
import WeirJSON
import WeirStats

/// Deterministic synthetic card transactions for `topologies/card-fraud.yaml`, with drift
/// injected from event `driftAt` on:
/// - `amount` (lognormal) is scaled ×`amountShift`;
/// - the merchant mix is reversed and two new merchants (`crypto`, `gift_cards`) appear;
/// - the label rule flips its amount effect (concept drift), so the old model gets worse.
/// `device_age_days` never drifts (a control). About `labelRate` of events carry a label.
///
/// Same seed, same events, on every machine.
public struct CardFraudGenerator: Sendable {
    public var seed: UInt64
    public var users: Int
    public var driftAt: Int?
    public var amountShift: Double
    public var labelRate: Double
    /// Event time of event 0 (epoch ms); each event is 10 ms later, with up to 1.5 s of disorder.
    public var startTime: Int64
    /// Events per second of event time (default 100: one every 10 ms).
    public var eventsPerSecond: Double = 100

    public static let merchants = ["grocery", "fuel", "restaurant", "travel", "electronics", "fashion", "pharmacy", "entertainment"]
    public static let newMerchants = ["crypto", "gift_cards"]
    static let countries = ["US", "GB", "DE", "FR", "ES", "IT", "NL", "PL"]
    static let risk: [Double] = [-0.8, -0.5, 0.1, 0.6, 0.9, -0.2, -0.6, 0.3, 1.4, 1.2]

    public init(seed: UInt64 = 42, users: Int = 2000, driftAt: Int? = nil, amountShift: Double = 1.8,
                labelRate: Double = 0.3, startTime: Int64 = 1_700_000_000_000) {
        self.seed = seed
        self.users = users
        self.driftAt = driftAt
        self.amountShift = amountShift
        self.labelRate = labelRate
        self.startTime = startTime
    }

    /// Event `i` as one JSON line (no newline).
    public func event(_ i: Int) -> String {
        var w = JSONWriter(capacity: 192)
        write(i, into: &w)
        return w.string
    }

    /// Appends event `i` (one JSON object, no newline) to `w`.
    public func write(_ i: Int, into w: inout JSONWriter) {
        var rng = SplitMix64(seed: seed &+ UInt64(i) &* SplitMix64.increment)
        let drifted = driftAt.map { i >= $0 } ?? false
        let ts = startTime + Int64(Double(i) * 1000 / eventsPerSecond) - Int64(rng.next() % 1500)
        let user = "u\(rng.next() % UInt64(users))"
        var amount = exp(3.4 + 0.7 * rng.nextGaussian())
        if drifted { amount *= amountShift }
        amount = (amount * 100).rounded() / 100
        let m: Int
        if drifted && rng.nextUnit() < 0.15 {
            m = Self.merchants.count + Int(rng.next() % 2)
        } else {
            // Zipf-like 1/(k+1), reversed after the drift point.
            let k = Self.merchants.count
            var weights = (0..<k).map { 1.0 / Double($0 + 1) }
            if drifted { weights.reverse() }
            var u = rng.nextUnit() * weights.reduce(0, +)
            var pick = k - 1
            for (j, w) in weights.enumerated() { if u < w { pick = j; break }; u -= w }
            m = pick
        }
        let merchant = m < Self.merchants.count ? Self.merchants[m] : Self.newMerchants[m - Self.merchants.count]
        let country = Self.countries[Int(rng.next() % UInt64(Self.countries.count))]
        let age = Int(-400 * log(max(1e-12, rng.nextUnit())))
        w.beginObject()
        w.field("event_id", "e\(i)")
        w.field("ts", ts)
        w.field("user", user)
        w.field("amount", amount)
        w.field("merchant", merchant)
        w.field("country", country)
        w.field("device_age_days", age)
        if rng.nextUnit() < labelRate {
            let sign = drifted ? -1.0 : 1.0
            let z = -1.6 + sign * 1.3 * (log(amount) - 3.4) + sign * Self.risk[m] - 0.002 * Double(age)
            w.field("label", rng.nextUnit() < 1 / (1 + exp(-z)) ? 1 : 0)
        }
        w.endObject()
    }
}
