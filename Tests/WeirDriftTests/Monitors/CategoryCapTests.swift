import Foundation
import Testing
import WeirStats
import WeirTestSupport
@testable import WeirDrift

/// Bounded categories (issue 18, item 4): a categorical monitor keeps at most `maxCategories`
/// distinct categories apart and none whose name is longer than `maxCategoryLength`; every other
/// value goes to one overflow bin, counted in the quality figures and reported as new-category share.
@Suite struct CategoryCapTests {
    static func config(maxCategories: Int, maxLength: Int = 256, window: Int = 1_000) -> MonitorConfig {
        MonitorConfig(feature: "m", kind: .categorical, window: .count(window), reference: .firstEvents(1_000),
                      maxCategories: maxCategories, maxCategoryLength: maxLength)
    }

    /// Reference: categories 0–3; windows: 0–3 and 200 distinct new ones. With a cap of 6, the
    /// first two new categories are kept and the rest overflow; the figures are counted here.
    @Test func categoriesBeyondTheCapOverflowIntoOneCountedBin() throws {
        var m = try FieldMonitor(Self.config(maxCategories: 6))
        m.categoryNames = (0..<300).map { "c\($0)" }
        var g = SeededGenerator(seed: 2)
        for _ in 0..<1_000 { m.feed(category: Int32(g.next() % 4)) }
        var fed: [Int32] = []
        for i in 0..<1_000 {
            let id: Int32 = i % 2 == 0 ? Int32(g.next() % 4) : Int32(4 + g.next() % 200)
            fed.append(id)
            m.feed(category: id)
        }
        let r = try #require(m.drainRecords().first)
        // The first two new ids seen are kept; every later new id overflows.
        var kept = Set<Int32>([0, 1, 2, 3])
        for id in fed where kept.count < 6 { kept.insert(id) }
        let overflow = fed.filter { !kept.contains($0) }.count
        let keptNew = fed.filter { $0 >= 4 && kept.contains($0) }.count
        #expect(m.keptCategories == 6)
        #expect(r.quality.categoryOverflow == overflow && overflow > 300)
        #expect(r.quality.newCategoryValues == overflow + keptNew)
        #expect(r.quality.newCategoryShare == Double(overflow + keptNew) / 1_000)
        #expect(abs(r.quality.categoryOverflowRate - Double(overflow) / 1_000) < 1e-15)
        let h = try #require(r.histogram)
        #expect(h.categories.count == 7 && h.categories.last == FieldMonitor.overflowCategoryName)
        #expect(abs(try #require(h.currentShares.last) - Double(overflow) / 1_000) < 1e-12)
        #expect(try #require(r.categorical).newCategories.contains(FieldMonitor.overflowCategoryName))
        #expect(r.drifted)   // half the window is new
        let q = try #require(try parseJSON(r.json())["quality"] as? [String: Any])
        #expect(q["category_overflow"] as? Int == overflow)
        #expect(q["new_category_share"] as? Double == r.quality.newCategoryShare)
        // A later window uses the same kept set: no more categories are kept.
        for _ in 0..<1_000 { m.feed(category: Int32(4 + g.next() % 200)) }
        let r2 = try #require(m.drainRecords().first)
        let h2 = try #require(r2.histogram)
        #expect(m.keptCategories == 6 && h2.categories.count <= 7)
    }

    /// A category whose name is longer than the cap goes to the overflow bin, also within the count cap.
    @Test func overlongNamesOverflow() throws {
        var m = try FieldMonitor(Self.config(maxCategories: 100, maxLength: 8, window: 100))
        m.categoryNames = ["short", String(repeating: "x", count: 9), "ok"]
        for i in 0..<1_000 { m.feed(category: Int32(i % 3 == 1 ? 0 : 2)) }
        for i in 0..<100 { m.feed(category: Int32(i % 3)) }
        let r = try #require(m.drainRecords().first)
        #expect(r.quality.categoryOverflow == 33)
        #expect(m.keptCategories == 2)
        #expect(try #require(r.histogram).categories == ["short", "ok", FieldMonitor.overflowCategoryName])
    }

    /// Numeric monitors and categorical ones within the cap report no overflow; the cap survives a
    /// snapshot (restore and continue gives the same records); bad caps throw.
    @Test func withinTheCapNothingOverflowsAndTheCapSurvivesASnapshot() throws {
        let cfg = Self.config(maxCategories: 5, window: 300)
        var g = SeededGenerator(seed: 6)
        let ids = (0..<4_000).map { i in Int32(i < 2_000 ? g.next() % 4 : g.next() % 12) }
        let expected = try expectSnapshotCutsGiveTheSameRecords(cfg, events: 4_000, cuts: [500, 2_150, 3_333]) { m, i in
            m.feed(category: ids[i])
            return m.drainRecords().map { $0.json() }
        }
        #expect(expected.count == 10)
        #expect(expected.prefix(3).allSatisfy { $0.contains("\"category_overflow\":0,") })
        #expect(expected.suffix(6).allSatisfy { !$0.contains("\"category_overflow\":0,") })
        #expect(throws: MonitorError.self) { try FieldMonitor(Self.config(maxCategories: 0)) }
        #expect(throws: MonitorError.self) { try FieldMonitor(Self.config(maxCategories: 3, maxLength: 0)) }
    }
}
