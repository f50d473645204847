import Foundation
import Testing
import WeirCore
import WeirRuntime
import WeirService
import WeirTestSupport
import WeirTopology

/// A sink that keeps its own counts of what the pipeline wrote, read back from the JSON records
/// with Foundation's parser (independent of the metrics, which take typed events).
struct CountingSink: OutputSink {
    var written: [OutputKind: Int] = [:]
    var deadLetters = 0
    /// Per feature: the last drift record's PSI, KS statistic and p-value (absent when `null`),
    /// its windows and drifted windows.
    var lastPSI: [String: Double] = [:]
    var lastKS: [String: Double] = [:]
    var lastP: [String: Double] = [:]
    var windows: [String: Int] = [:]
    var drifted: [String: Int] = [:]
    var openAlerts = Set<String>()
    var alertsOpened = 0
    var alertsResolved = 0

    mutating func write(_ kind: OutputKind, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer) throws {
        written[kind, default: 0] += 1
        let r = try JSONSerialization.jsonObject(with: Data(value)) as? [String: Any] ?? [:]
        guard let f = r["feature"] as? String else { return }
        func number(_ key: String) -> Double? { (r[key] as? NSNumber).flatMap { $0 is Bool ? nil : $0.doubleValue } }
        if kind == .drift {
            let contract = r["drift"] != nil  // the contract's record: ks, p, drift
            if let p = number("psi") { lastPSI[f] = p }
            if let k = number(contract ? "ks" : "ks_statistic") { lastKS[f] = k }
            if let p = number(contract ? "p" : "ks_pvalue") { lastP[f] = p }
            windows[f, default: 0] += 1
            let d = r[contract ? "drift" : "drifted"] as? Bool ?? false
            if d { drifted[f, default: 0] += 1 }
            if contract && !d { openAlerts.remove(f) }
        }
        if kind == .alerts {
            if r["status"] as? String == "resolved" {
                alertsResolved += 1
                openAlerts.remove(f)
            } else {  // "opened", or the contract's alert (no status)
                alertsOpened += 1
                openAlerts.insert(f)
            }
        }
    }

    mutating func deadLetter(original: UnsafeRawBufferPointer, reason: String, field: String?, source: SourcePosition) throws {
        deadLetters += 1
    }

    /// Every drift and alert metric equals what the records said, feature by feature.
    func expectMonitorMetrics(_ s: [Sample], topology: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) {
        let t = ["topology": topology]
        func v(_ name: String, _ labels: [String: String] = [:]) -> Double? { s.value(name, labels.merging(t) { a, _ in a }) }
        #expect(!windows.isEmpty, sourceLocation: sourceLocation)
        for (f, n) in windows {
            let l = ["feature": f]
            #expect(v("weir_drift_windows_total", l) == Double(n), "\(f)", sourceLocation: sourceLocation)
            #expect(v("weir_drift_windows_drifted_total", l) == Double(drifted[f, default: 0]), "\(f)", sourceLocation: sourceLocation)
            // A statistic no record of the field had (KS of a categorical field) was never set:
            // its gauge is absent or at its initial 0. Otherwise the record's value, within the
            // ulp Foundation's parser on Linux can be off by (JSONLineScanner's note) and below
            // the smallest normal double (a p-value of 3.66e-322 was exposed as 0.0).
            for (name, last) in [("weir_drift_psi", lastPSI[f]), ("weir_drift_ks_statistic", lastKS[f]), ("weir_drift_ks_pvalue", lastP[f])] {
                let m = v(name, l)
                if let last {
                    #expect(m.map { abs($0 - last) <= 4 * last.ulp + Double.leastNormalMagnitude } == true,
                            "\(name) \(f): \(m.map { "\($0)" } ?? "absent") against the record's \(last)", sourceLocation: sourceLocation)
                } else {
                    #expect(m == nil || m == 0, "\(name) \(f)", sourceLocation: sourceLocation)
                }
            }
        }
        #expect(v("weir_alerts_open") == Double(openAlerts.count), sourceLocation: sourceLocation)
        #expect(v("weir_alerts_total", ["status": "opened"]) == Double(alertsOpened), sourceLocation: sourceLocation)
        #expect(v("weir_alerts_total", ["status": "resolved"]) == Double(alertsResolved), sourceLocation: sourceLocation)
    }
}

struct RuntimeMetricsTests {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    /// card-fraud.yaml scaled down (reference 2,000 events, windows of 1,000) and renamed, so its
    /// metrics do not share labels with any other test's.
    func topology(name: String) throws -> CompiledTopology {
        let text = try String(contentsOf: Self.repo.appendingPathComponent("topologies/card-fraud.yaml"), encoding: .utf8)
            .replacingOccurrences(of: "reference: {first_events: 20000}", with: "reference: {first_events: 2000}")
            .replacingOccurrences(of: "window: {count: 5000}", with: "window: {count: 1000}")
            .replacingOccurrences(of: "name: card-fraud", with: "name: \(name)")
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("weir-metrics-\(UUID().uuidString).yaml").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try TopologyCompiler.compile(try TopologyLoader.load(path: path))
    }

    /// 12,000 generated events with drift from 6,000 and 5 bad records of known kinds, in batches
    /// of 1,000 on 2 partitions: the scraped counters equal what went in and what the sink received.
    @Test func countersAndGaugesMatchWhatThePipelineDid() throws {
        _ = sharedRegistry
        let compiled = try topology(name: "metrics-test")
        let metrics = RuntimeMetrics(compiled: compiled, sourceTopic: "transactions")
        var pipeline = try Pipeline(compiled: compiled, partitions: 2)
        pipeline.monitorObserver = metrics
        var sink = CountingSink()
        let gen = CardFraudGenerator(seed: 7, driftAt: 6_000)
        var lines = (0..<12_000).map { gen.event($0) }
        let bad: [(Int, String, String)] = [  // position, record, expected reason
            (100, #"{"event_id":"x","ts":1700000000000,"#, "malformed_json"),
            (2_500, #"{"event_id":"x","ts":1700000000000,"user":"u1","merchant":"fuel","device_age_days":1}"#, "missing_required"),
            (5_000, #"{"event_id":"x","ts":1700000000000,"user":"u1","amount":"ten","merchant":"fuel","device_age_days":1}"#, "wrong_type"),
            (7_000, #"{"event_id":"x","ts":1700000000000,"user":"u1","amount":-5,"merchant":"fuel","device_age_days":1}"#, "out_of_range"),
            (9_000, #"{"event_id":"x","ts":"soon","user":"u1","amount":5,"merchant":"fuel","device_age_days":1}"#, "invalid_timestamp"),
        ]
        for (i, line, _) in bad { lines.insert(line, at: i) }
        var batch = InputBatch(capacity: 1_000)
        var offsets: [Int32: Int64] = [0: 0, 1: 0]
        for (i, line) in lines.enumerated() {
            let p = Int32(i % 2)
            batch.append(Array(line.utf8), partition: p, offset: offsets[p]!)
            offsets[p]! += 1
            if batch.count == 1_000 || i == lines.count - 1 {
                try pipeline.process(batch, topic: "transactions", now: 0, into: &sink)
                metrics.batchProcessed(pipeline, events: batch.count, duration: .microseconds(300))
                batch.removeAll()
            }
        }
        metrics.refreshGauges(pipeline)
        let s = parseExposition(sharedRegistry.emitToString())
        let t = ["topology": "metrics-test"]
        func v(_ name: String, _ labels: [String: String] = [:]) -> Double? { s.value(name, labels.merging(t) { a, _ in a }) }

        #expect(v("weir_events_in_total", ["topic": "transactions"]) == Double(lines.count))
        #expect(v("weir_events_out_total", ["topic": "metrics-test.scores"]) == Double(sink.written[.scores] ?? -1))
        #expect(sink.written[.scores] == lines.count - bad.count)
        #expect(v("weir_events_out_total", ["topic": "metrics-test.dlq"]) == Double(bad.count))
        #expect(sink.deadLetters == bad.count)
        #expect(v("weir_events_out_total", ["kind": "drift"]) == Double(sink.written[.drift] ?? -1))
        #expect(v("weir_events_out_total", ["kind": "alerts"]) == Double(sink.written[.alerts, default: 0]))
        for (_, _, reason) in bad { #expect(v("weir_dead_letters_total", ["reason": reason]) == 1, "\(reason)") }
        #expect(v("weir_dead_letters_total", ["reason": "not_finite"]) == 0)
        #expect(v("weir_decode_errors_total", ["reason": "wrong_type", "field": "amount"]) == 1)
        #expect(v("weir_decode_errors_total", ["reason": "missing_required", "field": "amount"]) == 1)
        #expect(v("weir_batch_duration_seconds_count") == Double((lines.count + 999) / 1_000))
        #expect(v("weir_model_scored_total") == Double(lines.count - bad.count))

        // Drift: the last PSI, KS and p per field are those of the last drift record of that
        // field; windows, drifted windows and alerts are those of the records.
        #expect((sink.written[.drift] ?? 0) >= 8)
        #expect(sink.written[.alerts, default: 0] >= 1)
        #expect(sink.drifted.values.reduce(0, +) >= 1)
        #expect(sink.lastKS.count >= 2 && sink.lastPSI.count > sink.lastKS.count)  // numeric and categorical monitors
        sink.expectMonitorMetrics(s, topology: "metrics-test")

        // State and model gauges.
        let windows = pipeline.graph.windows
        for w in windows {
            #expect(v("weir_window_keys", ["window": w.spec.name]) == Double(w.keyCount))
            #expect(v("weir_window_state_bytes", ["window": w.spec.name]) == Double(w.stateBytes))
        }
        #expect(try #require(v("weir_model_prequential_log_loss")) == pipeline.model!.prequential.logLoss)
        #expect(v("weir_model_version") == Double(pipeline.model!.version))
    }

    /// `drift.mode: contract` writes other records (`ks`, `p`, `drift`; alerts without status):
    /// its metrics equal those records too.
    @Test func contractModeMetricsMatchItsRecords() throws {
        _ = sharedRegistry
        let text = try String(contentsOf: Self.repo.appendingPathComponent("topologies/card-fraud.yaml"), encoding: .utf8)
        let drift = try #require(text.range(of: "\ndrift:"))
        let head = String(text[..<drift.lowerBound])
        let contract = head.replacingOccurrences(of: "name: card-fraud", with: "name: metrics-contract-test")
            + "\n" + """
            drift:
              mode: contract
              reference: {first_events: 2000}
              window: {count: 1000}
              bins: 10
              monitors: [amount, device_age_days, score]
              gate: {rule: any, psi: 0.2, ks_pvalue: 0.01, ks_min_statistic: null, chi2_pvalue: null,
                     min_window_size: 1000, consecutive: 2, resolve_below_psi: null, cooldown_windows: 0, retrain: false}
            """
        let compiled = try TopologyCompiler.compile(try TopologyLoader.parse(contract, file: "metrics-contract-test.yaml"))
        let metrics = RuntimeMetrics(compiled: compiled, sourceTopic: "transactions")
        var pipeline = try Pipeline(compiled: compiled, partitions: 1)
        pipeline.monitorObserver = metrics
        var sink = CountingSink()
        let gen = CardFraudGenerator(seed: 11, driftAt: 6_000)
        var batch = InputBatch(capacity: 1_000)
        for i in 0..<12_000 {
            batch.append(Array(gen.event(i).utf8), partition: 0, offset: Int64(i))
            if batch.count == 1_000 {
                try pipeline.process(batch, topic: "transactions", now: 0, into: &sink)
                batch.removeAll()
            }
        }
        try pipeline.finish(into: &sink)
        #expect(sink.windows.count == 3 && sink.windows.values.allSatisfy { $0 >= 9 })
        #expect(sink.alertsOpened >= 1)
        sink.expectMonitorMetrics(parseExposition(sharedRegistry.emitToString()), topology: "metrics-contract-test")
    }

    @Test func lagTransactionsAndRebalances() throws {
        _ = sharedRegistry
        let metrics = RuntimeMetrics(compiled: try topology(name: "metrics-lag-test"), sourceTopic: "transactions")
        metrics.setLag([0: 10, 1: 3])
        metrics.setLag([1: 4])  // partition 0 revoked: its series goes away
        metrics.transactionCommitted()
        metrics.transactionCommitted()
        metrics.transactionAborted()
        metrics.rebalanced(assignedCount: 1)
        let s = parseExposition(sharedRegistry.emitToString())
        let t = ["topology": "metrics-lag-test"]
        #expect(s.value("weir_consumer_lag", t.merging(["partition": "1"]) { a, _ in a }) == 4)
        #expect(s.value("weir_consumer_lag", t.merging(["partition": "0"]) { a, _ in a }) == nil)
        #expect(s.value("weir_transactions_total", t.merging(["outcome": "commit"]) { a, _ in a }) == 2)
        #expect(s.value("weir_transactions_total", t.merging(["outcome": "abort"]) { a, _ in a }) == 1)
        #expect(s.value("weir_assigned_partitions", t) == 1)
    }

    /// The source, the label topic and `<name>.global` each have their own `weir_consumer_lag`
    /// series: setting one topic's lag drops only that topic's missing partitions. Held labels
    /// are a gauge of topologies with a label topic only.
    @Test func lagPerTopicAndHeldLabels() throws {
        _ = sharedRegistry
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("weir-metrics-\(UUID().uuidString).yaml").path
        try labelTopicTopology(name: "metrics-label-lag").write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let metrics = RuntimeMetrics(compiled: try TopologyCompiler.compile(try TopologyLoader.load(path: path)), sourceTopic: "events")
        metrics.setLag([0: 7, 1: 2])
        metrics.setLag([0: 5, 1: 9], topic: "labels")
        metrics.setLag([0: 3, 1: 1, 2: 4], topic: "metrics-label-lag.global")
        metrics.setLag([1: 0], topic: "labels")  // label partition 0 no longer read
        metrics.setLabelsHeld(42)
        var s = parseExposition(sharedRegistry.emitToString())
        func lag(_ topic: String, _ p: Int) -> Double? {
            s.value("weir_consumer_lag", ["topology": "metrics-label-lag", "topic": topic, "partition": String(p)])
        }
        #expect(lag("events", 0) == 7 && lag("events", 1) == 2)
        #expect(lag("labels", 0) == nil && lag("labels", 1) == 0)
        #expect(lag("metrics-label-lag.global", 0) == 3 && lag("metrics-label-lag.global", 2) == 4)
        #expect(s.value("weir_labels_held", ["topology": "metrics-label-lag"]) == 42)
        metrics.setLag([:], topic: "metrics-label-lag.global")  // the global stage handed over
        s = parseExposition(sharedRegistry.emitToString())
        #expect((0..<3).allSatisfy { lag("metrics-label-lag.global", $0) == nil })
        #expect(lag("events", 0) == 7 && lag("labels", 1) == 0)

        // Without a label topic there is no held-labels series.
        _ = RuntimeMetrics(compiled: try topology(name: "metrics-no-labels"), sourceTopic: "transactions")
        s = parseExposition(sharedRegistry.emitToString())
        #expect(s.value("weir_labels_held", ["topology": "metrics-no-labels"]) == nil)
        #expect(s.value("weir_alerts_open", ["topology": "metrics-no-labels"]) == 0)  // the metrics exist
    }
}
