import Foundation
import WeirCore
import WeirJSON
import WeirKafka
import WeirTopology

/// Which instance of a partitioned group serves a key (docs/serving.md, "Routing"): a pure state
/// machine fed by this instance's task changes and by the group's instance records, answering
/// ``route(key:)`` without I/O.
///
/// The key's partition is the producers' partitioner applied to the key's text (the message key
/// of its events, by the key rule of docs/scaling.md); the partitioner is the one the records
/// proved (``PartitionerDetector``, from this instance's tasks or from another instance's record).
/// Owners come from `<name>.instances`: every instance writes, keyed by its id, the partitions it
/// holds whenever they change (and none when it stops); the owner of a partition is the instance
/// whose newest record claims it, the latest claim winning (an instance killed without a word is
/// superseded by its partitions' next owner).
///
/// Invariants: a partition held here is served here (ready) or refused (`restoring`); a partition
/// this instance no longer holds is never routed back to it; a partition nobody claims is
/// `moving`. Cost of ``route(key:)``: one hash of the key and two dictionary lookups.
public struct ServingRouter: Sendable {
    /// Where a request goes.
    public enum Route: Sendable, Equatable {
        /// Served by this instance's task of `partition`.
        case local(partition: Int32)
        /// Served by another instance: its serving base URL (ending in `/`).
        case elsewhere(url: String)
        /// Nobody serves it now: 503 with this reason (`restoring`, `moving`, `routing_unknown`).
        case unavailable(reason: String)
        /// The request cannot be routed (a posted event that is invalid or has no key): this answer.
        case refused(ServingReply)
    }

    /// What one instance's newest record said.
    public struct Member: Sendable, Equatable {
        public var url: String
        public var partitions: Set<Int32>
        /// The record's position in `<name>.instances` (later claims win).
        public var position: Int64
    }

    /// This instance's id and serving base URL.
    public let instance: String
    public let url: String
    /// The source's partition count.
    public let partitionCount: Int
    /// Partitions held here: true when ready, false while restoring.
    public private(set) var local: [Int32: Bool] = [:]
    public private(set) var members: [String: Member] = [:]
    /// What this instance's tasks observed of the producers' partitioner.
    public private(set) var detector = PartitionerDetector()
    /// The partitioner another instance's record named (used until this instance's own records prove one).
    public private(set) var announced: KeyPartitioner?

    public init(instance: String, url: String, partitionCount: Int) {
        self.instance = instance
        self.url = url.hasSuffix("/") ? url : url + "/"
        self.partitionCount = max(1, partitionCount)
    }

    /// The partitioner routing uses: proven by this instance's records, else announced by another's.
    public var partitioner: KeyPartitioner? { detector.partitioner ?? announced }

    // MARK: transitions

    /// Partition `p` was assigned here: refused (`restoring`) until ``ready(_:)``.
    public mutating func assigned(_ p: Int32) { local[p] = false }
    /// Partition `p`'s task is restored and processing.
    public mutating func ready(_ p: Int32) { if local[p] != nil { local[p] = true } }
    /// Partition `p` left this instance (revoked, lost or stopped).
    public mutating func released(_ p: Int32) { local[p] = nil }
    /// What this instance's tasks learned of the partitioner.
    public mutating func observed(_ d: PartitionerDetector) { detector = d }

    /// Applies an instance record read at `position` of `<name>.instances` (this instance's own
    /// records too: they tell others, and are superseded here by ``local``).
    public mutating func apply(_ record: InstanceRecord, position: Int64) {
        if let p = record.partitioner, record.instance != instance { announced = p }
        if record.partitions.isEmpty {
            members[record.instance] = nil
        } else {
            members[record.instance] = Member(url: record.url, partitions: Set(record.partitions), position: position)
        }
    }

    // MARK: queries

    /// The partition of `key` (its UTF-8 text), once the partitioner is known.
    public func partition(of key: some Collection<UInt8>) -> Int32? {
        partitioner?.partition(of: key, count: partitionCount)
    }

    /// Where `key` (the text of the topology's key field) is served.
    public func route(key: some Collection<UInt8>) -> Route {
        guard let p = partition(of: key) else {
            // Before any keyed record told the partitioner apart, a key is routable only when
            // every partition is here.
            if local.count == partitionCount, let first = local.keys.min() { return local.values.allSatisfy { $0 } ? .local(partition: first) : .unavailable(reason: "restoring") }
            return .unavailable(reason: "routing_unknown")
        }
        return route(partition: p)
    }

    /// Where partition `p`'s keys are served.
    public func route(partition p: Int32) -> Route {
        if let ready = local[p] { return ready ? .local(partition: p) : .unavailable(reason: "restoring") }
        var owner: (String, Member)?
        for (id, m) in members where m.partitions.contains(p) {
            if owner == nil || m.position > owner!.1.position { owner = (id, m) }
        }
        guard let (id, m) = owner, id != instance else { return .unavailable(reason: "moving") }
        return .elsewhere(url: m.url)
    }

    /// This instance's record for `<name>.instances` (its partitions now).
    public func record(now: Int64) -> InstanceRecord {
        InstanceRecord(instance: instance, url: url, partitions: local.keys.sorted(), partitionCount: partitionCount,
                       partitioner: detector.partitioner, time: now)
    }
}

/// One record of `<name>.instances` (JSON, keyed by the instance id; docs/records.md): an
/// instance's serving URL and the source partitions it holds (none: it stopped).
public struct InstanceRecord: Sendable, Equatable {
    public var instance: String
    public var url: String
    public var partitions: [Int32]
    public var partitionCount: Int
    /// The producers' partitioner as this instance's records proved it (nil: not yet).
    public var partitioner: KeyPartitioner?
    /// Wall-clock epoch ms when written.
    public var time: Int64

    public init(instance: String, url: String, partitions: [Int32], partitionCount: Int, partitioner: KeyPartitioner?, time: Int64) {
        self.instance = instance
        self.url = url
        self.partitions = partitions
        self.partitionCount = partitionCount
        self.partitioner = partitioner
        self.time = time
    }

    public var json: [UInt8] {
        var w = JSONWriter(capacity: 192)
        w.beginObject()
        w.field("instance", instance)
        w.field("url", url)
        w.beginArray("partitions")
        for p in partitions { w.value(Int(p)) }
        w.endArray()
        w.field("partition_count", partitionCount)
        w.field("partitioner", partitioner?.rawValue)
        w.field("time", time)
        w.endObject()
        return w.bytes
    }

    /// Reads a record (nil when it is not one: such records are skipped).
    public init?(json bytes: [UInt8]) {
        guard let o = (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any],
              let instance = o["instance"] as? String, let url = o["url"] as? String,
              let partitions = o["partitions"] as? [NSNumber], let count = o["partition_count"] as? NSNumber else { return nil }
        self.init(instance: instance, url: url, partitions: partitions.map { $0.int32Value }, partitionCount: count.intValue,
                  partitioner: (o["partitioner"] as? String).flatMap(KeyPartitioner.init(rawValue:)),
                  time: (o["time"] as? NSNumber)?.int64Value ?? 0)
    }
}

/// Reads the key of an event posted to `POST /v1/score` (to route it before it is queued): the
/// event decoded and validated as a source record (a 400 with the dead letter's reason otherwise),
/// its `source.key` field as text, the form of its message key (``RecordDecoder/messageKeyText(_:row:field:)``,
/// the same the partitioned tasks' key check compares with).
/// Cost: one decode of the event into a one-row batch (reused).
public struct EventKeyReader: Sendable {
    /// Why an event has no key to route by: the reply it gets.
    public struct Refusal: Error, Equatable {
        public var reply: ServingReply
    }

    var decoder: RecordDecoder
    var batch: RecordBatch
    let field: Int
    let name: String
    var decoded = 0

    /// Nil when the topology has no `source.key`.
    public init?(compiled: CompiledTopology) {
        let schema = compiled.graph.schema
        guard let name = compiled.spec.source.keyField, let field = schema.index(of: name) else { return nil }
        decoder = RecordDecoder(schema: schema)
        batch = RecordBatch(fieldCount: schema.count, capacity: 1)
        self.field = field
        self.name = name
    }

    /// The key text of `event`, or (`.failure`) the 400 it gets.
    public mutating func key(of event: [UInt8]) -> Result<[UInt8], Refusal> {
        decoded += 1
        if decoded % 10_000 == 0 { decoder = RecordDecoder(schema: decoder.schema) }  // categories seen in requests only
        batch.removeAll()
        let row: Int
        do {
            row = try decoder.decode(event, into: &batch)
        } catch {
            return .failure(Refusal(reply: .error(400, "invalid_event", reason: error.description, field: error.fieldName)))
        }
        guard let key = decoder.messageKeyText(batch, row: row, field: field) else {
            return .failure(Refusal(reply: .error(400, "missing_key", reason: "the event has no '\(name)' (source.key): partitioned serving routes by it", field: name)))
        }
        return .success(key)
    }
}
