import Testing
import WeirTestSupport
@testable import WeirStats

@Suite struct SortTests {
    @Test func inPlaceSortMatchesStandardSort() {
        var rng = SeededGenerator(seed: 1)
        for n in [0, 1, 2, 3, 17, 100, 1000, 5000] {
            var a = (0..<n).map { _ in Double(Int.random(in: 0..<50, using: &rng)) }
            let expected = a.sorted()
            InPlaceSort.sort(&a)
            #expect(a == expected)
            var b = (0..<n).map { _ in rng.nextGaussian() }
            let eb = b.sorted()
            InPlaceSort.sort(&b)
            #expect(b == eb)
        }
        var desc = (0..<3000).map { Double(3000 - $0) }
        InPlaceSort.sort(&desc)
        #expect(desc == desc.sorted())
    }

    @Test func radixSortMatchesStandardSort() {
        var rng = SeededGenerator(seed: 3)
        var sorter = DoubleSorter()
        for n in [0, 1, 100, 511, 512, 1000, 10_000, 3000] {
            var a = (0..<n).map { i -> Double in
                switch i % 5 {
                case 0: return rng.nextGaussian() * 1e-300
                case 1: return -rng.nextGaussian() * 1e300
                case 2: return Double(Int.random(in: -3...3, using: &rng))
                case 3: return i % 2 == 0 ? .infinity : -.infinity
                default: return rng.nextGaussian()
                }
            }
            let expected = a.sorted()
            sorter.sort(&a)
            #expect(a == expected, "n = \(n)")
        }
        var same = [Double](repeating: 2.5, count: 2000)
        sorter.sort(&same)
        #expect(same.allSatisfy { $0 == 2.5 })
    }
}
