import CRdKafka
import Foundation

/// Restarts fetching as soon as the application drains the consumer's queue.
///
/// librdkafka 2.0 stops fetching a partition while the local queue holds at least
/// `queued.min.messages` (or `queued.max.messages.kbytes`), and re-checks only when its broker
/// thread wakes up: on I/O, on an operation queued to it, or on its 1-second timer
/// (`rd_kafka_max_block_ms`; 2.1 added `fetch.queue.backoff.ms` for this). An application that
/// processes slower than the fetcher therefore drains the queue and then sits idle for the rest
/// of each second: measured on `weir run` (fraud-contract, 1M events backlog) as ~100k-message
/// bursts once per second, 0.15 M events/s with the main thread asleep most of the time.
///
/// The queue counts as full at `queued.min.messages` or, for large messages, at the length that
/// holds `queued.max.messages.kbytes` at the average size delivered so far: with the global
/// stage's batches (~300 kB each) the byte limit stopped the fetchers at ~220 messages, which
/// the count alone never saw, and each refill waited ~0.8 s (ScaleBench `--kafka`: 0.9 M events/s
/// instead of 2.6–2.8 M/s).
///
/// When a poll sees the queue fall below half the threshold after it was full, this wakes the
/// broker threads of the assigned partitions' leaders with one ListOffsets request
/// (`rd_kafka_offsets_for_times` with the "latest" timestamp: read-only, no effect on positions,
/// one request per leader), which makes each re-decide and fetch at once. The request runs on
/// this type's own thread, so `poll` never waits for it; at most one is in flight.
///
/// Cost: one small request per refill (a few per second under backlog, none when the consumer
/// keeps up). Invariant: `stop()` returns only after the thread has exited (before the client is
/// destroyed).
final class FetchWaker: @unchecked Sendable {
    private let rk: OpaquePointer
    /// Queue length at or above which librdkafka stops fetching (`queued.min.messages`).
    let threshold: Int
    /// Queued bytes above which librdkafka stops fetching (`queued.max.messages.kbytes` × 1024).
    let byteLimit: Int
    private let lock = NSCondition()
    private var requested = false
    private var stopping = false
    private var exited = false
    /// The queue reached the threshold since the last wake-up (fetchers may be idle).
    private var sawFull = false
    /// Wake-ups requested so far (for tests and diagnostics).
    private(set) var wakeUps = 0

    init(rk: OpaquePointer, threshold: Int, byteLimit: Int = 65_536 * 1024) {
        self.rk = rk
        self.threshold = max(1, threshold)
        self.byteLimit = max(1, byteLimit)
        let t = Thread { [self] in run() }
        t.name = "weir:fetch-waker"
        t.start()
    }

    /// The queue length at which librdkafka stops fetching messages of `averageBytes`: the count
    /// limit, or the byte limit's length when that is shorter.
    func fullLength(averageBytes: Int) -> Int {
        averageBytes > 0 ? max(1, min(threshold, byteLimit / averageBytes)) : threshold
    }

    /// Called after each poll with the queue's length and the average size of the messages
    /// delivered: requests a wake-up when the queue, having reached (three quarters of, for the
    /// byte limit's estimate) its full length, has drained below half of it.
    @inline(__always)
    func observe(queueLength: Int, averageBytes: Int) {
        let full = fullLength(averageBytes: averageBytes)
        if queueLength >= (full == threshold ? full : full - full / 4) { sawFull = true; return }
        guard sawFull, queueLength < full / 2 else { return }
        sawFull = false
        request()
    }

    /// Requests a wake-up now: after resuming paused partitions, whose fetch would otherwise
    /// wait for the broker thread's next 1 s timer like a refilled queue's.
    func request() {
        lock.lock()
        requested = true
        wakeUps += 1
        lock.signal()
        lock.unlock()
    }

    func stop() {
        lock.lock()
        stopping = true
        lock.signal()
        while !exited { lock.wait() }
        lock.unlock()
    }

    private func run() {
        while true {
            lock.lock()
            while !requested && !stopping { lock.wait() }
            if stopping {
                exited = true
                lock.broadcast()
                lock.unlock()
                return
            }
            requested = false
            lock.unlock()
            wakeLeaders()
        }
    }

    private func wakeLeaders() {
        var list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?
        guard rd_kafka_assignment(rk, &list) == RD_KAFKA_RESP_ERR_NO_ERROR, let list else { return }
        defer { rd_kafka_topic_partition_list_destroy(list) }
        guard list.pointee.cnt > 0 else { return }
        // "Timestamp" −1 asks for the latest offset: a read-only request to each leader.
        for i in 0..<Int(list.pointee.cnt) { list.pointee.elems[i].offset = -1 }
        _ = rd_kafka_offsets_for_times(rk, list, 2000)
    }
}
