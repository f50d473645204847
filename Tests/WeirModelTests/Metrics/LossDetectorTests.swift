import Testing
import WeirModel
import WeirTestSupport

/// The loss-drift adapters over WeirStats' ADWIN and Page-Hinkley fire on a rise of the loss,
/// not on a stationary loss nor (ADWIN, increases only) on a fall.
@Suite struct LossDetectorTests {
    func losses(_ n: Int, mean: Double, seed: UInt64) -> [Double] {
        var rng = SeededGenerator(seed: seed)
        return (0..<n).map { _ in max(0, mean + 0.2 * rng.nextGaussian()) }
    }

    func firstDetection<D: LossDriftDetector>(_ d: inout D, _ xs: [Double]) -> Int? {
        for (i, x) in xs.enumerated() where d.update(x) { return i }
        return nil
    }

    @Test func adwinFiresOnRiseOnly() throws {
        var d = try ADWINLossDetector()
        #expect(firstDetection(&d, losses(5_000, mean: 0.4, seed: 1)) == nil)
        let rise = firstDetection(&d, losses(2_000, mean: 0.9, seed: 2))
        #expect(rise != nil && rise! < 200, "detected \(String(describing: rise)) events after the rise")
        var down = try ADWINLossDetector()
        _ = firstDetection(&down, losses(3_000, mean: 0.9, seed: 3))
        #expect(firstDetection(&down, losses(3_000, mean: 0.3, seed: 4)) == nil, "a falling loss is not drift")
        var both = try ADWINLossDetector(increasesOnly: false)
        _ = firstDetection(&both, losses(3_000, mean: 0.9, seed: 3))
        #expect(firstDetection(&both, losses(3_000, mean: 0.3, seed: 4)) != nil)
    }

    @Test func pageHinkleyFiresOnRise() throws {
        var d = try PageHinkleyLossDetector()
        #expect(firstDetection(&d, losses(5_000, mean: 0.4, seed: 5)) == nil)
        let rise = firstDetection(&d, losses(2_000, mean: 1.4, seed: 6))
        #expect(rise != nil && rise! < 200, "detected \(String(describing: rise)) events after the rise")
    }
}
