extension StreamGraph {
    /// Shifts the wall-clock times held in the state (each partition's last activity, the last
    /// event's wall time) by `delta` ms. After restoring a snapshot taken `delta` ms ago, idleness
    /// then resumes where it stopped instead of counting the downtime as silence of every source
    /// (which would mark partitions idle and move the watermark differently from an
    /// uninterrupted run). Event-time state is unchanged.
    /// - Complexity: O(partitions).
    public mutating func shiftWallClock(by delta: Int64) {
        let w = watermarks
        watermarks = WatermarkTracker(config: w.config, maxTs: Array(w.maxTs), lastActive: w.lastActive.map { $0 &+ delta },
                                      idle: Array(w.idle), watermark: w.watermark, maxEventTime: w.maxEventTime,
                                      lastEventWallTime: w.lastEventWallTime &+ delta)
    }
}
