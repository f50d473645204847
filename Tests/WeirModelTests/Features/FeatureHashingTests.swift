import Testing
import WeirModel
import WeirTestSupport

@Suite struct FeatureHashingTests {
    /// Published MurmurHash3_x86_32 test vectors (SMHasher / the reference implementation).
    @Test func murmurHash3KnownVectors() {
        #expect(MurmurHash3.x86_32("", seed: 0) == 0)
        #expect(MurmurHash3.x86_32("", seed: 1) == 0x514E_28B7)
        #expect(MurmurHash3.x86_32("", seed: 0xFFFF_FFFF) == 0x81F1_6F39)
        #expect(MurmurHash3.x86_32("hello", seed: 0) == 0x248B_FA47)
        #expect(MurmurHash3.x86_32("Hello, world!", seed: 1234) == 0xFAF6_CDB3)
        #expect(MurmurHash3.x86_32("The quick brown fox jumps over the lazy dog", seed: 0) == 0x2E4F_F723)
    }

    @Test func categorySlotsArePrecomputedHashes() {
        let h = FeatureHasher(bits: 18)
        let slots = CategorySlots(name: "merchant", values: ["grocery", "fuel"], hasher: h)
        #expect(slots.slot(id: 0) == Int32(MurmurHash3.x86_32("merchant=grocery") & 0x3FFFF))
        #expect(slots.slot(id: 1) == h.slot(name: "merchant", value: "fuel"))
        #expect(slots.slot(id: 2) == nil)
        let onehot = CategorySlots(oneHotCount: 3, offset: 10)
        #expect(onehot.slot(id: 2) == 12)
    }

    @Test func standardizerMatchesBatchMoments() {
        var rng = SeededGenerator(seed: 4)
        var s = OnlineStandardizer(numericCount: 1)
        var xs = [Double]()
        var input = ModelInput(layout: FeatureLayout(numericCount: 1))
        var last = 0.0
        for _ in 0..<1_000 {
            let v = 5 + 3 * rng.nextGaussian()
            xs.append(v)
            input.setNumeric(0, v)
            s.observeAndTransform(&input)
            last = input.numeric[0]
        }
        let mean = xs.reduce(0, +) / Double(xs.count)
        let sd = (xs.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(xs.count)).squareRoot()
        #expect(abs(last - (xs.last! - mean) / sd) < 1e-10)
    }

    @Test func fillAndAppendRespectBounds() {
        var x = ModelInput(layout: FeatureLayout(numericCount: 2, sparseDimension: 4, sparseCapacity: 2))
        let outOfRange = x.appendSparse(index: 4), negative = x.appendSparse(index: -1)
        #expect(!outOfRange && !negative)
        x.fill { nb, sparse in
            nb[0] = 1; nb[1] = 2
            let r1 = sparse.append(index: 3, value: 0.5), r2 = sparse.append(index: 0), r3 = sparse.append(index: 1)
            #expect(r1 && r2 && !r3)
        }
        #expect(x.sparseCount == 2)
        #expect(x.sparseIndices[0] == 3 && x.sparseValues[0] == 0.5)
        #expect(Array(x.numeric) == [1, 2])
    }
}

@Suite struct StandardizerRobustnessTests {
    @Test func extremeValuesNeverPoisonTheStatistics() {
        var s = OnlineStandardizer(numericCount: 1)
        var x = ModelInput(layout: FeatureLayout(numericCount: 1))
        for v in [1.0, 2.0, 3.0, 1e300, -1e308, 2.0, .nan, .infinity] {
            x.setNumeric(0, v)
            s.observeAndTransform(&x)
            #expect(s.means[0].isFinite && s.m2[0].isFinite)
            if v.isFinite { #expect(x.numeric[0].isFinite) }
        }
        x.setNumeric(0, 2.5)
        s.observeAndTransform(&x)
        #expect(x.numeric[0].isFinite && abs(x.numeric[0]) < 1)
    }
}
