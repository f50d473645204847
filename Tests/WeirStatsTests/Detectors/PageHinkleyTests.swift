import Testing
@testable import WeirStats

@Suite struct PageHinkleyTests {
    /// Page-Hinkley detections equal River 0.26.1's in each mode on five streams.
    @Test(arguments: PageHinkleyMode.allCases)
    func pageHinkleyMatchesRiver(_ mode: PageHinkleyMode) throws {
        for run in detectorRuns {
            var ph = try PageHinkley(config: PageHinkleyConfig(mode: mode))
            let det = detections(fixtureStream(run)) { ph.update($0) }
            #expect(det == run["ph_\(mode.rawValue)_detections"]!.array!.map { $0.int! }, "\(run["name"]!.string!) \(mode)")
        }
    }
}
