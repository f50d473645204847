import Testing
import WeirCore

@Suite struct WatermarkTrackerTests {
    @Test func boundedOutOfOrdernessIsMaxMinusBoundMinusOne() {
        var w = WatermarkTracker(config: WatermarkConfig(outOfOrderness: 100))
        #expect(w.watermark == .min)
        w.observe(partition: 0, eventTime: 1000, now: 0)
        #expect(w.watermark == 899)
        w.observe(partition: 0, eventTime: 950, now: 0)
        #expect(w.watermark == 899, "never regresses")
        w.observe(partition: 0, eventTime: 1200, now: 0)
        #expect(w.watermark == 1099)
    }

    @Test func operatorWatermarkIsMinimumOverPartitions() {
        var w = WatermarkTracker(config: WatermarkConfig(outOfOrderness: 0, partitionCount: 3))
        w.observe(partition: 0, eventTime: 500, now: 0)
        w.observe(partition: 1, eventTime: 300, now: 0)
        #expect(w.watermark == .min, "partition 2 has not been seen")
        w.observe(partition: 2, eventTime: 400, now: 0)
        #expect(w.watermark == 299)
        w.observe(partition: 1, eventTime: 900, now: 0)
        #expect(w.watermark == 399)
    }

    @Test func idlePartitionStopsHoldingBackAfterTimeout() {
        var w = WatermarkTracker(config: WatermarkConfig(outOfOrderness: 10, partitionCount: 2, idleTimeout: 1000, advanceWhenAllIdle: false), now: 0)
        w.observe(partition: 0, eventTime: 5000, now: 100)
        w.observe(partition: 1, eventTime: 2000, now: 100)
        #expect(w.watermark == 1989)
        // partition 1 goes quiet; partition 0 keeps producing
        for t in 1...20 { w.observe(partition: 0, eventTime: 5000 + Int64(t) * 100, now: 100 + Int64(t) * 50) }
        #expect(w.watermark == 1989, "idleness is only applied by advance(now:)")
        w.advance(now: 1099)
        #expect(w.watermark == 1989, "999 ms since partition 1's last event: still active")
        w.advance(now: 1100)
        #expect(w.watermark == 7000 - 11, "partition 1 idle: watermark follows partition 0")
        // partition 1 comes back with an old timestamp: it is active again, the watermark does not regress
        w.observe(partition: 1, eventTime: 2100, now: 1200)
        #expect(w.watermark == 6989)
        #expect(!w.isIdle(partition: 1))
    }

    @Test func allIdleAdvancesOnWallClock() {
        var w = WatermarkTracker(config: WatermarkConfig(outOfOrderness: 50, partitionCount: 2, idleTimeout: 500), now: 0)
        w.observe(partition: 0, eventTime: 10_000, now: 0)
        w.observe(partition: 1, eventTime: 9_000, now: 0)
        #expect(w.watermark == 8_949)
        w.advance(now: 499)
        #expect(w.watermark == 8_949)
        w.advance(now: 500)
        #expect(w.watermark == 10_000 - 51 + 500, "all idle: max event time − bound − 1 + wall time since last event")
        w.advance(now: 2_500)
        #expect(w.watermark == 10_000 - 51 + 2_500)
        w.observe(partition: 0, eventTime: 10_100, now: 2_600)
        #expect(w.watermark == 10_000 - 51 + 2_500, "monotone when traffic resumes")
    }

    @Test func unseenPartitionBecomesIdleFromStart() {
        var w = WatermarkTracker(config: WatermarkConfig(outOfOrderness: 0, partitionCount: 2, idleTimeout: 1000, advanceWhenAllIdle: false), now: 0)
        w.observe(partition: 0, eventTime: 100, now: 10)
        #expect(w.watermark == .min)
        w.advance(now: 1000)
        #expect(w.watermark == 99)
    }
}
