import BenchSupport
import Foundation
import WeirKafka

#if canImport(Glibc)
import Glibc
#endif

/// Monotonic clock in nanoseconds (same clock for produce and arrival: one process).
@inline(__always) func monoNs() -> Int64 {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return Int64(t.tv_sec) * 1_000_000_000 + Int64(t.tv_nsec)
}

/// Wall clock in epoch milliseconds (the Kafka CreateTime of what we send).
@inline(__always) func wallMs() -> Int64 {
    var t = timespec()
    clock_gettime(CLOCK_REALTIME, &t)
    return Int64(t.tv_sec) * 1000 + Int64(t.tv_nsec) / 1_000_000
}

/// A flag and a counter shared by the producer and reader threads (lock-protected; read once
/// per loop iteration, never per message).
final class Shared: @unchecked Sendable {
    private let lock = NSLock()
    private var _firstOutput = false
    private var _stop = false
    var firstOutput: Bool {
        get { lock.withLock { _firstOutput } }
        set { lock.withLock { _firstOutput = newValue } }
    }
    var stop: Bool {
        get { lock.withLock { _stop } }
        set { lock.withLock { _stop = newValue } }
    }
}

/// What the paced producer did: per message id its send time, and per delivered message its
/// partition and offset (to match outputs back to inputs).
struct ProduceLog {
    /// Monotonic ns at `send` per message id.
    var sendNs: [Int64] = []
    /// Kafka timestamp (wall-clock ms, CreateTime) per message id.
    var sendWallMs: [Int64] = []
    /// Delivery reports: message id, partition, offset.
    var delivered: [(id: Int32, partition: Int32, offset: Int64)] = []
    var failed = 0
    /// First id of the steady phase (ids before it were the trickle that waited for weir).
    var steadyStart = 0
    /// First id of the measured window, and one past its last.
    var measureStart = 0
    var measureEnd = 0
    /// Monotonic ns of the measured window's first and last send.
    var measureFirstNs: Int64 = 0
    var measureLastNs: Int64 = 0
    /// Largest backlog seen (messages due but not sent yet), in the steady phase.
    var maxBacklog = 0
    var readyAfterSeconds = 0.0
    /// CLOCK_REALTIME − CLOCK_MONOTONIC in ns, to place wall-clock Kafka timestamps on our clock.
    var wallMinusMonoNs: Int64 = 0
}

/// Sends events at a steady rate: a trickle (200/s) until the reader sees weir's first output,
/// then `rate` for `warmup + seconds`. Each message: key = user, Kafka timestamp = the wall clock
/// at `send`, value = the contract event (event time `ts` kept; shifted on later passes).
/// `edge(true)` runs when the measured window starts, `edge(false)` when it ends (CPU snapshots).
func producePaced(bootstrap: String, workload: Workload, opts: Options, shared: Shared, edge: (Bool) -> Void) throws -> ProduceLog {
    let producer = try KafkaProducer(configuration: ProducerConfiguration(
        client: KafkaConfiguration(bootstrapServers: bootstrap, properties: ["queue.buffering.max.kbytes": "1000000"]),
        lingerMs: opts.lingerMs, batchMessages: 10_000, queueCapacity: 1_000_000))
    let topic = try producer.topic("events")
    let steadyCount = Int(opts.rate * (opts.warmupSeconds + opts.seconds))
    var log = ProduceLog()
    do {
        var w = timespec()
        let m = monoNs()
        clock_gettime(CLOCK_REALTIME, &w)
        log.wallMinusMonoNs = Int64(w.tv_sec) * 1_000_000_000 + Int64(w.tv_nsec) - m
    }
    let capacity = steadyCount + 200 * 120 + 16
    log.sendNs.reserveCapacity(capacity)
    log.sendWallMs.reserveCapacity(capacity)
    log.delivered.reserveCapacity(capacity)
    final class Deliveries: @unchecked Sendable {
        var items: [(id: Int32, partition: Int32, offset: Int64)] = []
        var failed = 0
    }
    let deliveries = Deliveries()
    deliveries.items.reserveCapacity(capacity)
    producer.onDelivery = { r in
        if r.error == nil { deliveries.items.append((Int32(truncatingIfNeeded: r.id), r.partition, r.offset)) } else { deliveries.failed += 1 }
    }
    let scratch = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: 64 * 1024)
    defer { scratch.deallocate() }
    var next = 0
    try workload.data.withUnsafeBytes { (buf: UnsafeRawBufferPointer) throws in
        func send() throws {
            let l = workload.lines[next % workload.lines.count]
            let value: UnsafeRawBufferPointer
            if let n = workload.shiftedValue(next, into: scratch) {
                value = UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(scratch)[0..<n])
            } else {
                value = UnsafeRawBufferPointer(rebasing: buf[l.start..<l.end])
            }
            log.sendNs.append(monoNs())
            let ts = wallMs()
            log.sendWallMs.append(ts)
            try producer.send(to: topic, key: UnsafeRawBufferPointer(rebasing: buf[l.keyStart..<l.keyEnd]), value: value,
                              timestamp: ts, id: UInt64(next))
            next += 1
        }
        // Trickle until weir's first output reaches the reader (it has joined and processes).
        let t0 = monoNs()
        while !shared.firstOutput && !shared.stop {
            try send()
            producer.poll()
            if monoNs() - t0 > 120_000_000_000 { break }
            usleep(5_000)
        }
        log.readyAfterSeconds = Double(monoNs() - t0) / 1e9
        guard shared.firstOutput else { return }
        // Steady phase: the number due is rate × elapsed; send what is due, serve reports, nap.
        log.steadyStart = next
        log.measureStart = next + Int(opts.rate * opts.warmupSeconds)
        log.measureEnd = next + steadyCount
        let start = monoNs()
        let perNs = opts.rate / 1e9
        while next < log.measureEnd && !shared.stop {
            let due = min(log.measureEnd, log.steadyStart + Int(Double(monoNs() - start) * perNs))
            log.maxBacklog = max(log.maxBacklog, due - next)
            while next < due {
                if next == log.measureStart {
                    edge(true)
                    log.measureFirstNs = monoNs()
                }
                try send()
                if next == log.measureEnd {
                    log.measureLastNs = log.sendNs[next - 1]
                    edge(false)
                }
            }
            producer.poll()
            usleep(200)
        }
        try producer.flush(timeout: .seconds(60))
    }
    log.delivered = deliveries.items
    log.failed = deliveries.failed
    producer.close()
    return log
}
