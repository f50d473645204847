import Testing
@testable import WeirStats

@Suite struct QualityCountersTests {
    @Test func classifiesAndRates() throws {
        var q = QualityCounters()
        #expect(q.missingRate == 0 && q.outOfRangeRate == 0)  // empty window: 0, not NaN
        let inputs: [Double] = [1, 2, .nan, .infinity, -.infinity, 50, -3]
        let usable = inputs.map { q.record($0, range: 0...10) }
        #expect(usable == [true, true, false, false, false, true, true])
        q.recordMissing(); q.recordMissing(); q.recordInvalidType()
        #expect(q.total == 10 && q.nan == 1 && q.infinite == 2 && q.nonFiniteCount == 3)
        #expect(q.outOfRange == 2 && q.missing == 2 && q.invalidType == 1 && q.validCount == 4)
        #expect(q.missingRate == 0.2 && q.outOfRangeRate == 0.2 && q.invalidTypeRate == 0.1)
        var c = QualityCounters()
        c.recordCategory(known: true); c.recordCategory(known: false)
        #expect(c.newCategoryRate == 0.5)
        c.merge(q)
        #expect(c.total == 12 && c.newCategory == 1)
        #expect(try QualityCounters(serialized: c.serialized()) == c)
        var bad = ByteWriter()
        bad.writeHeader(tag: "WQLT", version: 1)
        for v in [1, 5, 0, 0, 0, 0, 0] { bad.write(v) }
        #expect(throws: SerializationError.self) { _ = try QualityCounters(serialized: bad.bytes) }
    }
}
