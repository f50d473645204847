import Foundation
import Testing

/// `weir generate --keys N --rate R`: the number of distinct keys and the event-time rate.
@Suite(.timeLimit(.minutes(1)))
struct GenerateTests {
    private func events(_ args: [String]) throws -> [[String: Any]] {
        jsonLines(try tool(weirBinary.path, ["generate", "--seed", "3"] + args))
    }

    @Test func keysAndRateShapeTheCardFraudStream() throws {
        let dense = try events(["--count", "3000", "--keys", "40", "--rate", "1000"])
        #expect(dense.count == 3000)
        #expect(Set(dense.map { $0["user"] as! String }).count == 40)
        let ts = dense.map { ($0["ts"] as! NSNumber).int64Value }
        // 3,000 events at 1,000/s span ~3 s of event time (plus up to 1.5 s of disorder)
        #expect((1_000...4_500).contains(ts.max()! - ts.min()!), "span \(ts.max()! - ts.min()!) ms")
        // the default rate (100/s) spans ~30 s, and --users is the older name of --keys
        let sparse = try events(["--count", "3000", "--users", "40"])
        let ts2 = sparse.map { ($0["ts"] as! NSNumber).int64Value }
        #expect((28_000...31_500).contains(ts2.max()! - ts2.min()!), "span \(ts2.max()! - ts2.min()!) ms")
        #expect(Set(sparse.map { $0["user"] as! String }).count == 40)
        let many = try events(["--count", "2000", "--keys", "1000000"])
        #expect(Set(many.map { $0["user"] as! String }).count > 1_990, "a million keys: almost every event a new user")
    }

    @Test func badKeysOrRateAreRefusedByName() throws {
        let k = try runWeir(["generate", "--count", "1", "--keys", "0"])
        #expect(k.status != 0 && k.stderr.contains("--keys must be at least 1"))
        let r = try runWeir(["generate", "--count", "1", "--rate", "0"])
        #expect(r.status != 0 && r.stderr.contains("--rate must be positive"))
    }
}
