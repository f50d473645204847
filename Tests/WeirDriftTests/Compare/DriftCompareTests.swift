import Foundation
import Testing
import WeirStats
import WeirTestSupport
@testable import WeirDrift

/// `weir compare` logic (DriftCompare, which CompareCommand calls) on the shared golden vectors
/// written to temporary files, and its errors on bad files.
@Suite struct DriftCompareTests {
    static func write(_ lines: [String], _ name: String) throws -> String {
        let p = tempPath(name)
        try (lines.joined(separator: "\n") + "\n").write(toFile: p, atomically: true, encoding: .utf8)
        return p
    }

    @Test func numericVectorsGiveScipyValuesFromPlainAndJSONLFiles() throws {
        for (i, c) in try jsonLines("numeric_drift.jsonl").enumerated() {
            let ref = try #require(c["reference"] as? [Double]), cur = try #require(c["current"] as? [Double])
            let name = try #require(c["name"] as? String)
            // one value per line, and JSONL events with the value in field "v" among other fields
            let plainR = try Self.write(ref.map { "\($0)" }, "r\(i).txt"), plainC = try Self.write(cur.map { "\($0)" }, "c\(i).txt")
            let jsonR = try Self.write(ref.map { "{\"id\":1,\"v\":\($0)}" }, "r\(i).jsonl")
            let jsonC = try Self.write(cur.map { "{\"v\":\($0),\"other\":\"x\"}" }, "c\(i).jsonl")
            let plain = try DriftCompare.run(referencePath: plainR, currentPath: plainC, options: CompareOptions())
            let events = try DriftCompare.run(referencePath: jsonR, currentPath: jsonC, options: CompareOptions(field: "v"))
            #expect(plain.count == 1 && events.count == 1)
            let p = try parseJSON(plain[0]), e = try parseJSON(events[0])
            for k in ["psi", "ks_statistic", "ks_pvalue", "wasserstein", "js_distance"] {
                #expect(p[k] as? Double == e[k] as? Double, "\(name) \(k)")
            }
            #expect(e["feature"] as? String == "v" && p["feature"] as? String == "value")
            let ks = try #require(p["ks_statistic"] as? Double), pv = try #require(p["ks_pvalue"] as? Double)
            let psi = try #require(p["psi"] as? Double)
            #expect(isClose(ks, try #require(c["ks_statistic"] as? Double), relative: 1e-9), "\(name)")
            #expect(isClose(pv, try #require(c["ks_pvalue_auto"] as? Double), relative: 1e-6, absolute: 1e-300), "\(name)")
            #expect(isClose(psi, try #require(c["psi_10_quantile_bins"] as? Double), relative: 1e-9, absolute: 1e-15), "\(name)")
            #expect(p["n_reference"] as? Int == ref.count && p["n_current"] as? Int == cur.count)
            #expect(p["ks_method"] as? String == (max(ref.count, cur.count) <= 10_000 ? "exact" : "asymptotic"))
            // The histogram to plot: numpy's edges, each sample's share per bin, no event times.
            let h = try #require(p["histogram"] as? [String: Any])
            let edges = try #require(h["edges"] as? [Double]), numpyEdges = try #require(c["psi_edges"] as? [Double])
            #expect(PlottableRecordTests.close(edges, numpyEdges, 1e-9), "\(name)")
            #expect(PlottableRecordTests.close(try #require(h["reference"] as? [Double]), PlottableRecordTests.shares(ref, edges: numpyEdges), 1e-12))
            #expect(PlottableRecordTests.close(try #require(h["current"] as? [Double]), PlottableRecordTests.shares(cur, edges: numpyEdges), 1e-12))
            #expect(p["first_event_time"] is NSNull && p["last_event_time"] is NSNull)
        }
    }

    @Test func categoricalVectorsGiveScipyValues() throws {
        for (i, c) in try jsonLines("categorical_drift.jsonl").enumerated() {
            let ref = try #require(c["reference"] as? [String]), cur = try #require(c["current"] as? [String])
            let r = try Self.write(ref.map { "{\"m\":\"\($0)\"}" }, "cr\(i).jsonl"), k = try Self.write(cur, "cc\(i).txt")
            // reference as JSONL, current as plain lines: both give category strings
            let refSample = try DriftCompare.load(path: r, options: CompareOptions(field: "m", categorical: true))
            let curSample = try DriftCompare.load(path: k, options: CompareOptions(categorical: true))
            let rec = try DriftCompare.compare(reference: refSample, current: curSample, referenceID: r,
                                               options: CompareOptions(categorical: true))
            let s = try #require(rec.categorical)
            #expect(isClose(s.psi, try #require(c["psi"] as? Double), relative: 1e-9))
            #expect(isClose(s.chi2Statistic, try #require(c["chi2_statistic"] as? Double), relative: 1e-9))
            #expect(isClose(s.chi2PValue, try #require(c["chi2_pvalue"] as? Double), relative: 1e-6, absolute: 1e-300))
            #expect(s.chi2DegreesOfFreedom == c["chi2_dof"] as? Int)
            #expect(s.newCategories == Array(Set(cur).subtracting(ref)).sorted { cur.firstIndex(of: $0)! < cur.firstIndex(of: $1)! })
        }
    }

    @Test func qualityOfJSONLFieldValues() throws {
        let r = try Self.write(["{\"a\":1}", "{\"a\":2}", "{\"a\":3}", "{\"a\":4}"], "q-r.jsonl")
        let c = try Self.write(["{\"a\":1.5}", "{\"a\":null}", "{}", "{\"a\":\"x\"}", "{\"a\":true}", "", "{\"a\":2.5}"], "q-c.jsonl")
        let rec = try parseJSON(try DriftCompare.run(referencePath: r, currentPath: c, options: CompareOptions(field: "a"))[0])
        let q = try #require(rec["quality"] as? [String: Any])
        #expect(q["count"] as? Int == 6 && q["missing"] as? Int == 2 && q["invalid_type"] as? Int == 2 && q["valid"] as? Int == 2)
        #expect(rec["n_current"] as? Int == 2 && rec["window_end"] as? Int == 6)
    }

    @Test func badFilesNameFileAndLine() throws {
        let good = try Self.write(["1", "2", "3"], "good.txt")
        let notNumber = try Self.write(["1", "", "abc"], "nan.txt")
        let badJSON = try Self.write(["{\"a\":1}", "{\"a\":"], "bad.jsonl")
        let array = try Self.write(["[1,2]"], "arr.jsonl")
        let objectNoField = try Self.write(["{\"a\":1}"], "obj.jsonl")
        let empty = try Self.write([""], "empty.txt")
        func err(_ r: String, _ c: String, _ o: CompareOptions = CompareOptions()) -> CompareError? {
            do { _ = try DriftCompare.run(referencePath: r, currentPath: c, options: o); return nil } catch { return error }
        }
        #expect(err(good, notNumber) == .badLine(file: notNumber, line: 3, detail: "not a number: \"abc\""))
        #expect(err(badJSON, good, CompareOptions(field: "a"))?.description == "\(badJSON):2: not valid JSON: unexpected end of line")
        #expect(err(objectNoField, array, CompareOptions(field: "a"))?.description.hasPrefix("\(array):1: expected a JSON object") == true)
        #expect(err(objectNoField, good)?.description == "\(objectNoField):1: a JSON object, but no --field was given")
        #expect(err(good, empty) == .noValues(file: empty))
        #expect(err(good, tempPath("does-not-exist.txt"))?.description.contains("cannot read") == true)
        #expect(err(good, good, CompareOptions(bins: 1)) == .invalidOption("--bins 1 not in 2...10000"))
        // nan / inf lines are values (counted in quality), an all-NaN current file is a defined record
        let nans = try Self.write(["nan", "inf", "-inf"], "nans.txt")
        let rec = try parseJSON(try DriftCompare.run(referencePath: good, currentPath: nans, options: CompareOptions())[0])
        #expect(rec["undefined_reason"] as? String == "empty_current" && rec["psi"] is NSNull)
        #expect((rec["quality"] as? [String: Any])?["nan_inf_count"] as? Int == 3)
    }
}
