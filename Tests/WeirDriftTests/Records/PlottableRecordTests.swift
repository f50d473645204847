import Foundation
import Testing
import WeirStats
import WeirTestSupport
@testable import WeirDrift

/// Drift records a person can plot (issue 18, item 5): each record carries its window's event-time
/// span and the bins with the reference's and the window's shares.
@Suite struct PlottableRecordTests {
    /// Bin of `v` as the docs and numpy define it: the number of edges `<= v`.
    static func shares(_ values: [Double], edges: [Double]) -> [Double] {
        var counts = [Int](repeating: 0, count: edges.count + 1)
        for v in values { counts[edges.filter { $0 <= v }.count] += 1 }
        return counts.map { Double($0) / Double(values.count) }
    }

    static func close(_ a: [Double], _ b: [Double], _ tol: Double = 1e-12) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) <= tol * max(1, abs($1)) }
    }

    /// Against the shared golden vectors (numpy): the edges are numpy's `psi_edges`, the shares are
    /// the counts per bin of each sample, and the PSI recomputed from the shares (ε = 1e-4 for an
    /// empty bin) is numpy's. The event-time span is the window's earliest and latest event time.
    @Test func numericHistogramMatchesNumpyEdgesAndCountedShares() throws {
        var g = SeededGenerator(seed: 3)
        for c in try jsonLines("numeric_drift.jsonl") {
            let ref = try #require(c["reference"] as? [Double]), cur = try #require(c["current"] as? [Double])
            let edges = try #require(c["psi_edges"] as? [Double])
            var m = try FieldMonitor(numericConfig("v", window: cur.count, reference: ref.count))
            var times: [Int64] = []
            for (i, v) in (ref + cur).enumerated() {
                let t = 1_000_000 + Int64(i) * 10 - Int64(g.next() % 500)   // disordered
                if i >= ref.count { times.append(t) }
                m.feed(v, eventTime: t)
            }
            let r = try #require(m.drainRecords().first)
            let h = try #require(r.histogram)
            #expect(Self.close(h.edges, edges, 1e-9), "\(c["name"]!): \(h.edges) vs \(edges)")
            #expect(h.categories.isEmpty)
            #expect(Self.close(h.referenceShares, Self.shares(ref, edges: h.edges)))
            #expect(Self.close(h.currentShares, Self.shares(cur, edges: h.edges)))
            let psi = zip(h.referenceShares, h.currentShares).reduce(0.0) { acc, pq in
                let p = pq.0 == 0 ? 1e-4 : pq.0, q = pq.1 == 0 ? 1e-4 : pq.1
                return acc + (q - p) * log(q / p)
            }
            let numpyPSI = try #require(c["psi_10_quantile_bins"] as? Double)
            #expect(abs(psi - numpyPSI) <= 1e-9 * max(1, numpyPSI), "\(c["name"]!)")
            #expect(r.firstEventTime == times.min() && r.lastEventTime == times.max())
            let json = try parseJSON(r.json())
            let hj = try #require(json["histogram"] as? [String: Any])
            #expect((hj["edges"] as? [Double]).map { Self.close($0, h.edges) } == true)   // Foundation's parser may round the last bit
            #expect((hj["reference"] as? [Double])?.count == edges.count + 1 && (hj["current"] as? [Double])?.count == edges.count + 1)
            #expect(json["first_event_time"] as? Int == Int(times.min()!) && json["last_event_time"] as? Int == Int(times.max()!))
        }
    }

    /// Categorical records: one bin per category of either sample with the counted shares (against
    /// the golden categorical vectors, counted here by name).
    @Test func categoricalHistogramHasEveryCategoryWithCountedShares() throws {
        for c in try jsonLines("categorical_drift.jsonl") {
            let ref = try #require(c["reference"] as? [String]), cur = try #require(c["current"] as? [String])
            var ids: [String: Int32] = [:]
            var names: [String] = []
            func id(_ s: String) -> Int32 {
                if let i = ids[s] { return i }
                ids[s] = Int32(names.count); names.append(s); return Int32(names.count - 1)
            }
            var m = try FieldMonitor(MonitorConfig(feature: "m", kind: .categorical, window: .count(cur.count), reference: .firstEvents(ref.count)))
            let coded = (ref + cur).map(id)
            m.categoryNames = names
            for i in coded { m.feed(category: i) }
            let r = try #require(m.drainRecords().first)
            let h = try #require(r.histogram)
            #expect(Set(h.categories) == Set(ref + cur) && h.categories.count == Set(ref + cur).count)
            #expect(h.edges.isEmpty)
            for (k, name) in h.categories.enumerated() {
                #expect(abs(h.referenceShares[k] - Double(ref.filter { $0 == name }.count) / Double(ref.count)) < 1e-12)
                #expect(abs(h.currentShares[k] - Double(cur.filter { $0 == name }.count) / Double(cur.count)) < 1e-12)
            }
            let json = try parseJSON(r.json())
            let hj = try #require(json["histogram"] as? [String: Any])
            #expect(hj["categories"] as? [String] == h.categories && hj["edges"] == nil)
            // no event times fed: the span is null
            #expect(r.firstEventTime == nil && json["first_event_time"] is NSNull && json["last_event_time"] is NSNull)
        }
    }

    /// Event-time windows: the span lies inside the window and is its earliest and latest event.
    @Test func eventTimeWindowSpanIsItsEarliestAndLatestEvent() throws {
        var m = try FieldMonitor(MonitorConfig(feature: "x", window: .eventTime(width: 1_000), reference: .eventTimeRange(start: 0, end: 2_000)))
        var g = SeededGenerator(seed: 4)
        var byWindow: [Int64: [Int64]] = [:]
        for i in 0..<6_000 {
            let t = Int64(i) + 7 - Int64(g.next() % 7)
            m.feed(g.nextGaussian(), eventTime: t)
            if t >= 2_000 { byWindow[t / 1_000 * 1_000, default: []].append(t) }
        }
        m.advanceWatermark(to: 6_000)
        let recs = m.drainRecords()
        #expect(recs.count == 4)
        for r in recs {
            let ts = try #require(byWindow[r.windowStart])
            #expect(r.firstEventTime == ts.min() && r.lastEventTime == ts.max())
            #expect(r.firstEventTime! >= r.windowStart && r.lastEventTime! < r.windowEnd)
            #expect(r.histogram != nil)
        }
    }

    /// Undefined statistics have no histogram (`"histogram":null`).
    @Test func undefinedWindowHasNoHistogram() throws {
        var m = try FieldMonitor(MonitorConfig(feature: "x", window: .count(10), reference: .rolling))
        for i in 0..<10 { m.feed(Double(i), eventTime: Int64(i)) }
        let r = try #require(m.drainRecords().first)
        #expect(r.undefinedReason == .noReference && r.histogram == nil)
        #expect(r.json().contains("\"histogram\":null"))
        #expect(r.firstEventTime == 0 && r.lastEventTime == 9)
    }
}
