import Foundation
import Testing
@testable import WeirService

/// Records in the shapes of docs/records.md.
enum DashboardFixtures {
    static let xss = "<img src=x onerror=alert(1)>"

    static func drift(_ feature: String, window: Int, psi: Double, drifted: Bool = false, categorical: Bool = false) -> [String: Any] {
        var r: [String: Any] = ["record": "drift", "feature": feature, "kind": categorical ? "categorical" : "numeric", "window": window,
                                "first_event_time": 1_700_000_000_000 + window * 60_000, "last_event_time": 1_700_000_059_000 + window * 60_000,
                                "n_current": 5000, "psi": psi, "ks_statistic": categorical ? NSNull() : 0.2,
                                "ks_pvalue": categorical ? NSNull() : 0.5, "chi2_pvalue": categorical ? 0.001 : NSNull(),
                                "drifted": drifted, "drift_reasons": drifted ? ["psi"] : [String]()]
        r["histogram"] = categorical
            ? ["categories": ["grocery", xss], "reference": [1.0, 0.0], "current": [0.6, 0.4]] as [String: Any]
            : ["edges": [1.0, 2.0], "reference": [0.3, 0.4, 0.3], "current": [0.1, 0.2, 0.7]] as [String: Any]
        return r
    }

    static func alert(_ id: String, _ feature: String, status: String, window: Int) -> [String: Any] {
        ["record": "alert", "alert_id": id, "status": status, "feature": feature, "kind": "numeric", "severity": "warning",
         "window": window, "reasons": status == "opened" ? ["psi"] : [String](), "statistics": ["psi": 0.31]]
    }

    static var retrain: [String: Any] { ["record": "retrain_request", "request_id": "g-retrain-0", "reason": "data_drift", "window": 3,
                                         "fields": ["amount", xss]] }
    static var version2: [String: Any] { ["type": "model_version", "model_id": "card-fraud", "version": 2, "created_at": 1_700_000_494_306,
                                          "parent_version": 1, "reason": "data_drift"] }
    static var promoted: [String: Any] { ["type": "model_promoted", "model_id": "card-fraud", "time": 1_700_000_494_306, "champion_version": 1,
                                          "challenger_version": 2, "reason": "data_drift", "detail": "better_by_margin",
                                          "metrics": ["shadow_events": 1000, "champion_log_loss": 0.41, "challenger_log_loss": 0.29,
                                                      "champion_accuracy": 0.87, "challenger_accuracy": 0.91]] }
}

@Suite struct DashboardStateTests {
    typealias F = DashboardFixtures

    @Test func driftRecordsBuildOneHistoryPerMonitor() throws {
        var s = DashboardState()
        #expect(s.ingest(F.drift("amount", window: 0, psi: 0.01)) == .drift)
        #expect(s.ingest(F.drift("amount", window: 1, psi: 0.5, drifted: true)) == .drift)
        #expect(s.ingest(F.drift("merchant", window: 0, psi: 0.3, categorical: true)) == .drift)
        #expect(s.monitors.count == 2)
        let amount = try #require(s.monitors["amount"])
        #expect(amount.windows.map(\.window) == [0, 1])
        #expect(amount.windows[1].psi == 0.5 && amount.windows[1].drifted && amount.windows[1].reasons == ["psi"])
        #expect(amount.windows[1].ksStatistic == 0.2 && amount.windows[1].chi2PValue == nil)
        #expect(amount.windows[1].lastEventTime == 1_700_000_119_000)
        #expect(amount.windows[0].histogram?.edges == [1.0, 2.0])
        let merchant = try #require(s.monitors["merchant"])
        #expect(merchant.kind == "categorical")
        #expect(merchant.windows[0].histogram?.categories == ["grocery", F.xss])
        #expect(merchant.windows[0].chi2PValue == 0.001 && merchant.windows[0].ksStatistic == nil)
        #expect(s.lastDrift == .init(feature: "merchant", window: 0, lastEventTime: 1_700_000_059_000))
    }

    @Test func aDuplicateWindowReplacesTheFirstAndOrderIsKept() {
        var s = DashboardState()
        s.ingest(F.drift("amount", window: 2, psi: 0.1))
        s.ingest(F.drift("amount", window: 1, psi: 0.1))
        s.ingest(F.drift("amount", window: 2, psi: 0.9))
        #expect(s.monitors["amount"]!.windows.map(\.window) == [1, 2])
        #expect(s.monitors["amount"]!.windows[1].psi == 0.9)
    }

    @Test func historyIsBoundedPerMonitorAndCountsWhatItDropped() {
        var s = DashboardState(limits: .init(windowsPerMonitor: 5, timelineEntries: 3))
        for w in 0..<12 { s.ingest(F.drift("amount", window: w, psi: 0.01)) }
        for w in 0..<2 { s.ingest(F.drift("device", window: w, psi: 0.01)) }
        #expect(s.monitors["amount"]!.windows.map(\.window) == [7, 8, 9, 10, 11])
        #expect(s.monitors["amount"]!.droppedWindows == 7)
        #expect(s.monitors["device"]!.windows.count == 2 && s.monitors["device"]!.droppedWindows == 0)
        for i in 0..<5 { s.ingest(F.alert("a-\(i)", "amount", status: "opened", window: i)) }
        #expect(s.timeline.map(\.id) == ["a-2", "a-3", "a-4"])
        #expect(s.droppedEntries == 2)
    }

    @Test func alertsOpenAndResolve() {
        var s = DashboardState()
        #expect(s.ingest(F.alert("g-alert-0", "amount", status: "opened", window: 3)) == .alert)
        s.ingest(F.alert("g-alert-0", "amount", status: "opened", window: 3))  // duplicate delivery
        s.ingest(F.alert("g-alert-1", F.xss, status: "opened", window: 3))
        #expect(s.openAlerts == ["g-alert-0": "amount", "g-alert-1": F.xss])
        #expect(s.monitors["amount"]!.alertsOpened == 1)
        s.ingest(F.alert("g-alert-0", "amount", status: "resolved", window: 9))
        #expect(s.openAlerts == ["g-alert-1": F.xss])
        #expect(s.timeline.map(\.kind) == ["alert_opened", "alert_opened", "alert_opened", "alert_resolved"])
        #expect(s.timeline[0].reasons == ["psi"] && s.timeline[0].detail == "warning, PSI 0.310")
    }

    @Test func retrainRequestsAndModelRecords() {
        var s = DashboardState()
        #expect(s.ingest(F.retrain) == .retrainRequest)
        #expect(s.ingest(F.version2) == .model)
        #expect(s.ingest(F.promoted) == .model)
        #expect(s.modelVersion == 2)
        #expect(s.timeline.map(\.kind) == ["retrain_request", "model_version", "model_promoted"])
        #expect(s.timeline[0].detail == "fields: amount, \(F.xss)" && s.timeline[0].reasons == ["data_drift"])
        #expect(s.timeline[2].detail == "champion v1 vs challenger v2 (better_by_margin)")
        #expect(s.performance == [.init(time: 1_700_000_494_306, decision: "model_promoted", championVersion: 1, challengerVersion: 2,
                                        championLogLoss: 0.41, challengerLogLoss: 0.29, championAccuracy: 0.87, challengerAccuracy: 0.91,
                                        shadowEvents: 1000, seq: 3)])
    }

    /// A decision before any shadow event (as `weir run` writes `model_trained`: zero figures,
    /// `shadow_events` 0) is on the timeline but not a performance point.
    @Test func decisionsWithoutShadowEventsAreNotMeasurements() {
        var s = DashboardState()
        s.ingest(["type": "model_trained", "model_id": "card-fraud", "time": 1_700_000_400_000, "champion_version": 1, "challenger_version": 2,
                  "metrics": ["trained_events": 2980, "shadow_events": 0, "champion_log_loss": 0.0, "challenger_log_loss": 0.0,
                              "champion_accuracy": 0.0, "challenger_accuracy": 0.0]])
        s.ingest(F.promoted)
        #expect(s.timeline.map(\.kind) == ["model_trained", "model_promoted"])
        #expect(s.performance.map(\.decision) == ["model_promoted"])
    }

    static func score(_ t: Int64, _ p: Double, label: Int?, version: Int = 1) -> [String: Any] {
        var r: [String: Any] = ["key": "u1", "event_time": t, "score": p, "model_id": "card-fraud", "model_version": version,
                                "topic": "transactions", "partition": 0, "offset": 7]
        if let label { r["label"] = label }
        return r
    }

    /// Score records fold into minutes of event time: count, mean score, prequential log loss and
    /// accuracy over the labelled ones (the formula applied by hand here), scores per tenth, the
    /// newest model version; out-of-order minutes are inserted in place; the oldest are dropped
    /// past the bound, and records older than everything kept are not counted.
    @Test func scoreRecordsBecomePrequentialFiguresPerMinute() {
        var s = DashboardState(limits: .init(scoreMinutes: 2))
        let m0: Int64 = 1_700_000_040_000  // a minute boundary (1_700_000_040_000 % 60_000 == 0)
        #expect(m0 % 60_000 == 0)
        #expect(s.ingest(Self.score(m0 + 61_000, 0.9, label: 1)) == .score)
        s.ingest(Self.score(m0 + 5_000, 0.2, label: 0))
        s.ingest(Self.score(m0 + 59_999, 0.7, label: 0))
        s.ingest(Self.score(m0 + 30_000, 0.55, label: nil, version: 2))
        #expect(s.scores.map(\.time) == [m0, m0 + 60_000])
        let b = s.scores[0]
        #expect(b.count == 3 && b.labelled == 2 && b.correct == 1 && b.modelVersion == 2)
        #expect(abs(b.scoreSum / 3 - (0.2 + 0.7 + 0.55) / 3) < 1e-12)
        #expect(abs(b.logLossSum / 2 - (-log(0.8) - log(0.3)) / 2) < 1e-12)
        #expect(b.histogram == [0, 0, 1, 0, 0, 1, 0, 1, 0, 0])
        s.ingest(Self.score(m0 + 125_000, 0.1, label: 0))
        #expect(s.scores.map(\.time) == [m0 + 60_000, m0 + 120_000] && s.droppedScoreMinutes == 1)
        #expect(s.ingest(Self.score(m0 + 1_000, 0.5, label: 1)) == .ignored)
        #expect(s.scores.map(\.count) == [1, 1])
    }

    /// `/api/state` lists the minutes as rows named by `score_fields`.
    @Test func scoresAPIRows() throws {
        var c = DashboardConfiguration(topology: "g", brokers: "127.0.0.1:1",
                                       topics: DashboardTopics(drift: "t.drift", alerts: "", retrain: "", models: "", scores: "t.scores"))
        c.limits = .init()
        let store = DashboardStore(configuration: c)
        for r in [Self.score(1_700_000_040_000, 0.25, label: 1), Self.score(1_700_000_041_000, 0.75, label: 1)] {
            store.ingest(json: try JSONSerialization.data(withJSONObject: r), topic: "t.scores")
        }
        let j = try #require(try JSONSerialization.jsonObject(with: store.stateJSON()) as? [String: Any])
        let fields = try #require(j["score_fields"] as? [String])
        let row = try #require((j["scores"] as? [[Any]])?.first)
        let b = Dictionary(uniqueKeysWithValues: zip(fields, row))
        #expect(b["time"] as? Int == 1_700_000_040_000 && b["count"] as? Int == 2 && b["labelled"] as? Int == 2)
        #expect(b["mean_score"] as? Double == 0.5 && b["accuracy"] as? Double == 0.5)
        #expect(b["log_loss"] as? Double == DashboardStore.figure((-log(0.25) - log(0.75)) / 2))
        #expect((j["topics"] as? [String: Any])?["scores"] as? String == "t.scores")
    }

    @Test func unknownAndBrokenRecordsAreCountedAsIgnored() {
        var s = DashboardState()
        #expect(s.ingest(["record": "score", "score": 0.1]) == .ignored)
        #expect(s.ingest(["record": "drift"]) == .ignored)  // no feature/window
        #expect(s.ingest(json: Data("not json".utf8)) == .ignored)
        #expect(s.ingest(json: try! JSONSerialization.data(withJSONObject: F.drift("x", window: 0, psi: 0))) == .drift)
        #expect(s.counts == ["ignored": 3, "drift": 1])
        #expect(s.monitors["x"]!.windows[0].psi == 0)
    }
}

@Suite struct DashboardAPITests {
    typealias F = DashboardFixtures

    func store() -> DashboardStore {
        var c = DashboardConfiguration(topology: "t", brokers: "127.0.0.1:1",
                                       topics: DashboardTopics(drift: "t.drift", alerts: "t.alerts", retrain: "t.retrain", models: "t.models"))
        c.thresholds = DashboardThresholds(psi: 0.2, ksPValue: 0.01, chi2PValue: 0.01)
        let s = DashboardStore(configuration: c)
        for r in [F.drift(F.xss, window: 0, psi: 0.3, drifted: true, categorical: true), F.alert("g-alert-0", F.xss, status: "opened", window: 0)] {
            s.ingest(json: try! JSONSerialization.data(withJSONObject: r), topic: "t.drift")
        }
        return s
    }

    /// Escaping is the page's job: the API hands names over verbatim (as JSON strings).
    @Test func stateAPIReturnsNamesVerbatim() throws {
        let s = store()
        let j = try #require(try JSONSerialization.jsonObject(with: s.stateJSON()) as? [String: Any])
        let monitors = try #require(j["monitors"] as? [[String: Any]])
        #expect(monitors.map { $0["feature"] as? String } == [F.xss])
        #expect(Self.windows(monitors[0], j).first?["new_categories"] as? Int == 1)
        let timeline = try #require(j["timeline"] as? [[String: Any]])
        #expect(timeline.first?["feature"] as? String == F.xss)
        #expect((j["health"] as? [String: Any])?["open_alerts"] as? Int == 1)
        #expect((j["thresholds"] as? [String: Any])?["psi"] as? Double == 0.2)
        #expect((j["limits"] as? [String: Any])?["windows_per_monitor"] as? Int == 2000)
        let v = try #require(j["version"] as? Int)
        let unchanged = try #require(try JSONSerialization.jsonObject(with: s.stateJSON(since: v)) as? [String: Any])
        #expect(unchanged["unchanged"] as? Bool == true)
    }

    @Test func histogramAPIListsNewCategoriesVerbatim() throws {
        let s = store()
        let body = try #require(s.histogramJSON(feature: F.xss, window: 0))
        let j = try #require(try JSONSerialization.jsonObject(with: body) as? [String: Any])
        #expect(j["new_categories"] as? [String] == [F.xss])
        #expect((j["histogram"] as? [String: Any])?["categories"] as? [String] == ["grocery", F.xss])
        #expect(s.histogramJSON(feature: F.xss, window: 7) == nil)
    }

    /// `after=SEQUENCE` lists only what was ingested after it (all monitors, their new windows,
    /// new entries); a sequence the server never reached (a restarted server) gets everything.
    @Test func stateAPIIsIncrementalAfterASequence() throws {
        let s = store()
        func state(after: Int?) throws -> [String: Any] {
            try #require(try JSONSerialization.jsonObject(with: s.stateJSON(after: after)) as? [String: Any])
        }
        let first = try state(after: nil)
        #expect(first["incremental"] as? Bool == false)
        let seq = try #require(first["sequence"] as? Int)
        #expect(seq == 2)
        for r in [F.drift(F.xss, window: 1, psi: 0.1, categorical: true), F.drift("amount", window: 0, psi: 0.1), F.retrain] {
            s.ingest(json: try JSONSerialization.data(withJSONObject: r), topic: "t.drift")
        }
        let inc = try state(after: seq)
        #expect(inc["incremental"] as? Bool == true && inc["sequence"] as? Int == 5)
        let monitors = try #require(inc["monitors"] as? [[String: Any]])
        #expect(monitors.map { $0["feature"] as? String } == [F.xss, "amount"])  // "<" sorts before "a"
        #expect(monitors.map { Self.windows($0, inc).map { $0["window"] as? Int } } == [[1], [0]])
        #expect(monitors[0]["alerts_opened"] as? Int == 1)
        #expect((inc["timeline"] as? [[String: Any]])?.map { $0["kind"] as? String } == ["retrain_request"])
        let whole = try state(after: 99)
        #expect(whole["incremental"] as? Bool == false)
        #expect(((whole["monitors"] as? [[String: Any]])?.first?["windows"] as? [Any])?.count == 2)
        #expect(first["instance"] as? String == whole["instance"] as? String)
    }

    /// A monitor's window rows as objects, with the columns named by the answer's `window_fields`.
    static func windows(_ monitor: [String: Any], _ answer: [String: Any]) -> [[String: Any]] {
        let fields = answer["window_fields"] as? [String] ?? []
        return (monitor["windows"] as? [[Any]] ?? []).map { Dictionary(uniqueKeysWithValues: zip(fields, $0)) }
    }

    /// Windows are rows named by `window_fields`, statistics rounded to 4 significant digits for
    /// the timelines (the histogram API and the topic keep them whole).
    @Test func windowsAreCompactRows() throws {
        let s = DashboardStore(configuration: DashboardConfiguration(
            topology: "g", brokers: "127.0.0.1:1", topics: DashboardTopics(drift: "t.drift", alerts: "", retrain: "", models: "")))
        var r = F.drift("amount", window: 4, psi: 0.123456789, drifted: true)
        r["ks_pvalue"] = 0.000012345678
        s.ingest(json: try JSONSerialization.data(withJSONObject: r), topic: "t.drift")
        let j = try #require(try JSONSerialization.jsonObject(with: s.stateJSON()) as? [String: Any])
        #expect(j["window_fields"] as? [String] == DashboardStore.windowFields)
        let monitor = try #require((j["monitors"] as? [[String: Any]])?.first)
        let w = try #require(Self.windows(monitor, j).first)
        #expect(w["window"] as? Int == 4 && w["drifted"] as? Int == 1 && w["reasons"] as? [String] == ["psi"])
        #expect(w["psi"] as? Double == 0.1235)
        #expect(w["ks_pvalue"] as? Double == 0.00001235)
        #expect(w["chi2_pvalue"] is NSNull)
        // p-values far below 1e-300 (strong drift) stay numbers: the rounding's scale would overflow.
        for tiny in [5e-324, 1e-310, 2.5e-306, Double.leastNormalMagnitude] {
            let f = try #require(DashboardStore.figure(tiny))
            #expect(f.isFinite && f > 0 && abs(f - tiny) <= tiny * 1e-3, "\(tiny) -> \(f)")
        }
        #expect(w["last_event_time"] as? Int == 1_700_000_299_000)
    }

    /// 1,000 windows of each of 4 monitors (histograms included in the records): the first
    /// `/api/state` answer stays well under a megabyte (histograms are fetched per selected window).
    @Test func aLongHistoryIsAnAnswerOfKilobytes() throws {
        let s = DashboardStore(configuration: DashboardConfiguration(
            topology: "g", brokers: "127.0.0.1:1", topics: DashboardTopics(drift: "t.drift", alerts: "", retrain: "", models: "")))
        for w in 0..<1000 {
            for (k, f) in ["amount", "device_age_days", "merchant", "score"].enumerated() {
                let r = F.drift(f, window: w, psi: 0.0123456 * Double(k + 1) + Double(w) * 1e-5, drifted: w % 50 == 0, categorical: f == "merchant")
                s.ingest(json: try JSONSerialization.data(withJSONObject: r), topic: "t.drift")
            }
        }
        let body = s.stateJSON()
        let j = try #require(try JSONSerialization.jsonObject(with: body) as? [String: Any])
        #expect((j["monitors"] as? [[String: Any]])?.map { Self.windows($0, j).count } == [1000, 1000, 1000, 1000])
        #expect(body.count < 400_000, "\(body.count) bytes")
    }

    @Test func problemsReachTheStatus() throws {
        let s = store()
        s.setProblem("brokers", "cannot reach Kafka at 127.0.0.1:1")
        var j = try #require(try JSONSerialization.jsonObject(with: s.stateJSON()) as? [String: Any])
        #expect((j["status"] as? [String: Any])?["problems"] as? [String] == ["cannot reach Kafka at 127.0.0.1:1"])
        s.setProblem("brokers", nil)
        j = try #require(try JSONSerialization.jsonObject(with: s.stateJSON()) as? [String: Any])
        #expect((j["status"] as? [String: Any])?["problems"] as? [String] == [])
    }

    /// The page builds the DOM from data with textContent only: the script never assigns
    /// innerHTML/outerHTML, never calls insertAdjacentHTML or document.write, and the page loads
    /// nothing from another origin.
    @Test func pageBuildsTheDOMWithTextContentOnly() {
        let all = DashboardPage.html + DashboardPage.style + DashboardPage.script
        for banned in ["innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"] {
            #expect(!all.contains(banned), "\(banned)")
        }
        #expect(DashboardPage.script.contains("textContent"))
        #expect(!all.replacingOccurrences(of: "http://www.w3.org/2000/svg", with: "").contains("http://"))
        #expect(!all.contains("https://"))
        #expect(DashboardPage.contentSecurityPolicy.contains("script-src 'self'"))
    }

    /// Page + assets stay under 200 KB (the brief's budget).
    @Test func pageWeightIsUnder200KB() {
        let bytes = DashboardPage.html.utf8.count + DashboardPage.style.utf8.count + DashboardPage.script.utf8.count
        #expect(bytes < 200_000, "\(bytes) bytes")
    }
}

/// The health strip's events/s and consumer lag (computed by hand here).
@Suite struct DashboardHealthTests {
    /// Per source partition: offsets advanced from the newest sample written at least 10 s
    /// before `now` (else the first one) to the newest, over the time from that base to `now`
    /// (at least 1 s); summed; 0 once nothing was written within 10 s; nil with no samples.
    @Test func eventsPerSecondFromSourceOffsetsOverWriteTime() {
        var r = SourceRate()
        #expect(r.perSecond(now: 15_000) == nil)
        for (t, o) in [(1_000, 0), (5_000, 400), (12_000, 1_100), (15_000, 1_400)] as [(Int64, Int64)] {
            r.record(topic: "s", partition: 0, offset: o, time: t)
        }
        // Partition 0: (1400 - 400) over the 10 s since 5_000 = 100/s.
        #expect(r.perSecond(now: 15_000) == 100)
        // Partition 1 starts within the window: (250 - 50) over the 2 s since its first sample.
        r.record(topic: "s", partition: 1, offset: 250, time: 14_000)
        r.record(topic: "s", partition: 1, offset: 50, time: 13_000)  // out of order
        #expect(r.perSecond(now: 15_000) == 200)
        // A sample 0.3 s old is divided by 1 s, not 0.3 s.
        r.record(topic: "other", partition: 0, offset: 10, time: 14_700)
        r.record(topic: "other", partition: 0, offset: 40, time: 14_900)
        #expect(r.perSecond(now: 15_000) == 230)
        #expect(r.perSecond(now: 30_000) == 0)
    }

    /// At any rate, a partition holds at most one bucket per 100 ms of the window plus one before.
    @Test func eventsPerSecondMemoryIsBounded() throws {
        var r = SourceRate()
        for i in 0..<100_000 { r.record(topic: "s", partition: 0, offset: Int64(i), time: Int64(i)) }  // 1,000 per second
        #expect(r.bucketCount <= Int(SourceRate.window / SourceRate.bucketMs) + 3, "\(r.bucketCount)")
        let rate = try #require(r.perSecond(now: 99_999))
        #expect(abs(rate - 1_000) < 10, "\(rate)")
    }

    /// Lag = Σ max(0, high − committed) over the partitions with a committed offset; nil with a
    /// reason when none has one or it could not be measured.
    @Test func consumerLagSumsCommittedPartitionsAndSaysWhyWhenUnknown() {
        let p = ConsumerLag.Partition.init
        var lag = ConsumerLag(group: "g", topic: "s", partitions: [p(0, 90, 100), p(1, 50, 50)], checkedAt: 1)
        #expect(lag.total == 10 && lag.note == nil)
        lag.partitions.append(p(2, nil, 70))
        #expect(lag.total == 10)
        #expect(lag.note == "1 of 3 partitions of 's' have no committed offset in group 'g' and are not counted")
        lag.partitions = [p(0, nil, 100)]
        #expect(lag.total == nil)
        #expect(lag.note?.hasPrefix("group 'g' has committed no offsets on 's'") == true)
        lag = ConsumerLag(group: "g", topic: "s", partitions: [], checkedAt: 1, problem: "source topic 's' does not exist on b (yet)")
        #expect(lag.total == nil && lag.note == "source topic 's' does not exist on b (yet)")
    }

    /// `/api/state`'s `health`: events/s from score records and their Kafka timestamps, the lag
    /// set by the reader, and a reason in place of each missing figure.
    @Test func healthFiguresInTheAPI() throws {
        let c = DashboardConfiguration(topology: "g", brokers: "b:1",
                                       topics: DashboardTopics(drift: "t.drift", alerts: "", retrain: "", models: "", scores: "t.scores"))
        var config = c
        config.sourceTopic = "s"
        config.group = "weir-g"
        let store = DashboardStore(configuration: config)
        func health(now: Int64) throws -> [String: Any] {
            let j = try #require(try JSONSerialization.jsonObject(with: store.stateJSON(now: Date(timeIntervalSince1970: Double(now) / 1000))) as? [String: Any])
            return try #require(j["health"] as? [String: Any])
        }
        var h = try health(now: 1_700_000_100_000)
        #expect(h["events_per_second"] is NSNull && h["events_per_second_note"] as? String == "no score records read from t.scores yet")
        var lag = try #require(h["consumer_lag"] as? [String: Any])
        #expect(lag["total"] is NSNull && lag["note"] as? String == "not measured yet" && lag["group"] as? String == "weir-g")
        for (i, t) in [Int64(1_700_000_092_000), 1_700_000_096_000, 1_700_000_099_000].enumerated() {
            var r = DashboardStateTests.score(t - 50_000, 0.5, label: nil)
            r["offset"] = 1_000 * i
            store.ingest(json: try JSONSerialization.data(withJSONObject: r), topic: "t.scores", kafkaTimestamp: t)
        }
        store.setLag(ConsumerLag(group: "weir-g", topic: "s", partitions: [.init(partition: 0, committed: 1_500, high: 2_001)], checkedAt: 5))
        h = try health(now: 1_700_000_100_000)
        #expect(h["events_per_second"] as? Double == 250, "\(h)")  // 2,000 offsets over the 8 s since the first
        #expect(h["events_per_second_note"] is NSNull)
        lag = try #require(h["consumer_lag"] as? [String: Any])
        #expect(lag["total"] as? Int == 501 && lag["note"] is NSNull && lag["checked_at"] as? Int == 5)
        #expect(lag["partitions"] as? [[Int]] == [[0, 1_500, 2_001]])
        #expect(try health(now: 1_700_000_120_000)["events_per_second"] as? Double == 0)
        // A topology without a model has no scores topic: said so.
        let bare = DashboardStore(configuration: DashboardConfiguration(topology: "g", brokers: "b:1",
                                                                        topics: DashboardTopics(drift: "d", alerts: "", retrain: "", models: "")))
        let j = try #require(try JSONSerialization.jsonObject(with: bare.stateJSON()) as? [String: Any])
        #expect((j["health"] as? [String: Any])?["events_per_second_note"] as? String == "no scores topic: the topology has no model")
    }

    /// A page polling an idle dashboard gets "unchanged" answers, yet sees events/s fall to 0
    /// and a changed lag: a new lag measurement with the same figures is no change.
    @Test func healthChangesAreNewVersionsAndRemeasuringIsNot() throws {
        var c = DashboardConfiguration(topology: "g", brokers: "b:1",
                                       topics: DashboardTopics(drift: "d", alerts: "", retrain: "", models: "", scores: "t.scores"))
        c.sourceTopic = "s"
        let store = DashboardStore(configuration: c)
        func answer(since: Int? = nil, at ms: Int64) throws -> [String: Any] {
            try #require(try JSONSerialization.jsonObject(with: store.stateJSON(since: since, now: Date(timeIntervalSince1970: Double(ms) / 1000))) as? [String: Any])
        }
        var r = DashboardStateTests.score(1_700_000_000_000, 0.5, label: nil)
        r["offset"] = 0
        store.ingest(json: try JSONSerialization.data(withJSONObject: r), topic: "t.scores", kafkaTimestamp: 1_700_000_090_000)
        r["offset"] = 5_000
        store.ingest(json: try JSONSerialization.data(withJSONObject: r), topic: "t.scores", kafkaTimestamp: 1_700_000_095_000)
        let first = try answer(at: 1_700_000_100_000)
        let v = try #require(first["version"] as? Int)
        #expect((first["health"] as? [String: Any])?["events_per_second"] as? Double == 500)
        #expect(try answer(since: v, at: 1_700_000_100_000)["unchanged"] as? Bool == true)
        let idle = try answer(since: v, at: 1_700_000_120_000)  // nothing written for 25 s
        #expect(idle["unchanged"] == nil && (idle["health"] as? [String: Any])?["events_per_second"] as? Double == 0, "\(idle)")
        let v2 = try #require(idle["version"] as? Int)
        #expect(try answer(since: v2, at: 1_700_000_130_000)["unchanged"] as? Bool == true)
        let lag = ConsumerLag(group: "weir-g", topic: "s", partitions: [.init(partition: 0, committed: 5, high: 9)], checkedAt: 1)
        store.setLag(lag)
        let v3 = try #require(try answer(at: 1_700_000_130_000)["version"] as? Int)
        #expect(v3 > v2)
        var again = lag
        again.checkedAt = 4_000
        store.setLag(again)
        #expect(try answer(since: v3, at: 1_700_000_130_000)["unchanged"] as? Bool == true)
        again.partitions[0].committed = 9
        store.setLag(again)
        #expect(try answer(since: v3, at: 1_700_000_130_000)["unchanged"] == nil)
    }

    /// An unchanged state is the same short compact answer as before the move to JSONWriter.
    @Test func unchangedAnswerIsCompact() {
        let store = DashboardStore(configuration: DashboardConfiguration(topology: "g", brokers: "b:1",
                                                                         topics: DashboardTopics(drift: "d", alerts: "", retrain: "", models: "")))
        store.setProblem("x", "y")
        #expect(String(decoding: store.stateJSON(since: 1), as: UTF8.self) == #"{"version":1,"unchanged":true}"#)
        #expect(String(decoding: DashboardStore.errorJSON("no such window", feature: "<f>", window: 3), as: UTF8.self)
                == #"{"error":"no such window","feature":"<f>","window":3}"#)
    }
}
