import Testing
@testable import WeirStats

@Suite struct ADWINTests {
    /// ADWIN detection indices and window state equal River 0.26.1's on five streams.
    @Test func adwinMatchesRiver() throws {
        #expect(detectorRuns.count == 5)
        for run in detectorRuns {
            let name = run["name"]!.string!
            let xs = fixtureStream(run)
            var ad = try ADWIN()
            var det = [Int]()
            var cps = run["adwin_checkpoints"]!.array!.makeIterator()
            for (i, x) in xs.enumerated() {
                if ad.update(x) { det.append(i) }
                if (i + 1) % 1000 == 0, let cp = cps.next()?.array {
                    #expect(cp[0].int == i)
                    #expect(Double(ad.width) == cp[1].double!, "\(name) @\(i): width")
                    #expect(abs(ad.total - cp[2].double!) <= 1e-9 * max(1, abs(cp[2].double!)), "\(name) @\(i): total")
                    #expect(abs(ad.estimation - cp[3].double!) <= 1e-12, "\(name) @\(i): estimation")
                    #expect(ad.detectionsSinceReset == cp[4].int, "\(name) @\(i): n_detections")
                }
            }
            #expect(det == run["adwin_detections"]!.array!.map { $0.int! }, "\(name): ADWIN detections")
        }
    }
}
