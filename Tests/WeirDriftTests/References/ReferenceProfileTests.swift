import Foundation
import Testing
import WeirStats
import WeirTestSupport
@testable import WeirDrift

/// Reference profiles: save → load → identical results; corrupt files are typed errors.
@Suite struct ReferenceProfileTests {
    @Test func savedProfileReloadsAndGivesIdenticalRecords() throws {
        var g = SeededGenerator(seed: 31)
        let refValues = (0..<6_000).map { _ in g.nextGaussian() * 3 + 1 }
        let refCats = (0..<6_000).map { _ in Int32(g.next() % 5) }
        var exactCfg = numericConfig("amount", window: 1_000, reference: 6_000)
        var sketchCfg = numericConfig("score", window: 1_000, reference: 6_000)
        sketchCfg.referenceCap = 1_000          // beyond the cap: KLL-sketch reference
        let catCfg = MonitorConfig(feature: "merchant", kind: .categorical, window: .count(1_000), reference: .firstEvents(6_000))
        var a = try FieldMonitor(exactCfg), b = try FieldMonitor(sketchCfg), c = try FieldMonitor(catCfg)
        a.feedAll(refValues); b.feedAll(refValues)
        for id in refCats { c.feed(category: id) }
        let profile = ReferenceProfile(id: "prod-2026-11", description: "first 6000 events",
                                       fields: try [a, b, c].map { try #require($0.profileField()) })
        #expect(profile.field("score")?.info.sketchRankError != nil)
        #expect(profile.field("amount")?.info.sketchRankError == nil)
        let path = tempPath("profile.wrpf")
        try profile.save(to: path)
        let loaded = try ReferenceProfile.load(from: path)
        #expect(loaded == profile)

        // monitors built from the loaded profile give the same records as the ones that built it
        func fixed(_ cfg: MonitorConfig) throws -> FieldMonitor {
            var x = cfg
            let f = try #require(loaded.field(cfg.feature))
            x.reference = .fixed(f.reference, f.info)
            return try FieldMonitor(x)
        }
        exactCfg.reference = .firstEvents(6_000)
        var a2 = try fixed(exactCfg), b2 = try fixed(sketchCfg), c2 = try fixed(catCfg)
        let cur = (0..<3_000).map { _ in g.nextGaussian() * 3 + 1.5 }
        let curCats = (0..<3_000).map { _ in Int32(g.next() % 6) }
        a.feedAll(cur); a2.feedAll(cur); b.feedAll(cur); b2.feedAll(cur)
        for id in curCats { c.feed(category: id); c2.feed(category: id) }
        for (x, y) in [(a.drainRecords(), a2.drainRecords()), (b.drainRecords(), b2.drainRecords()), (c.drainRecords(), c2.drainRecords())] {
            #expect(x.count == 3)
            #expect(x == y)
            #expect(x.map { $0.json() } == y.map { $0.json() })
        }
    }

    @Test func corruptOrMissingProfileFilesAreTypedErrors() throws {
        let p = ReferenceProfile(id: "p", fields: [
            .init(feature: "x", reference: .numeric(try NumericReference(sample: [1, 2, 3])), info: ReferenceInfo(kind: .firstEvents, id: "x", n: 3)),
            .init(feature: "e", reference: .empty(.numeric), info: ReferenceInfo(kind: .firstEvents, id: "e", n: 0)),
        ])
        let bytes = p.serialized()
        #expect(try ReferenceProfile(serialized: bytes) == p)
        for cut in [0, 5, bytes.count / 2, bytes.count - 1] {
            #expect(throws: SerializationError.self) { try ReferenceProfile(serialized: Array(bytes[..<cut])) }
        }
        var wrongVersion = bytes
        wrongVersion[4] = 9
        #expect(throws: SerializationError.unsupportedVersion(tag: "WRPF", version: 9)) { try ReferenceProfile(serialized: wrongVersion) }
        let path = tempPath("bad.wrpf")
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: path))
        #expect(throws: ReferenceProfile.FileError.self) { try ReferenceProfile.load(from: path) }
        #expect(throws: ReferenceProfile.FileError.self) { try ReferenceProfile.load(from: tempPath("missing.wrpf")) }
    }
}
