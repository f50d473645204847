import Foundation
import Testing
import WeirKafka
@testable import WeirRuntime

/// Routing between partitioned instances as a state machine, without I/O: partitions held here
/// (restoring, ready), the instances' records (latest claim wins), the partitioner the records
/// prove, and the mailbox's use of it.
struct ServingRouterTests {
    static let n = 4
    /// A key of each partition under `partitioner`.
    static func keys(_ partitioner: KeyPartitioner = .crc32) -> [Int32: String] {
        var out: [Int32: String] = [:]
        var i = 0
        while out.count < n {
            let k = "user-\(i)"
            let p = partitioner.partition(of: Array(k.utf8), count: n)
            if out[p] == nil { out[p] = k }
            i += 1
        }
        return out
    }

    static func proven(_ partitioner: KeyPartitioner) -> PartitionerDetector {
        var d = PartitionerDetector()
        for i in 0..<100 {
            let key = Array("k\(i)".utf8)
            key.withUnsafeBytes { d.observe(key: $0, partition: partitioner.partition(of: key, count: n), count: n) }
        }
        return d
    }

    func record(_ instance: String, _ partitions: [Int32], _ partitioner: KeyPartitioner? = .crc32) -> InstanceRecord {
        InstanceRecord(instance: instance, url: "http://\(instance):9464/", partitions: partitions, partitionCount: Self.n,
                       partitioner: partitioner, time: 0)
    }

    @Test func localRestoringElsewhereAndMoving() {
        var r = ServingRouter(instance: "a", url: "http://a:9464", partitionCount: Self.n)
        #expect(r.url == "http://a:9464/")
        let keys = Self.keys()
        // Nothing known yet: no partitioner, no route.
        #expect(r.route(key: keys[0]!.utf8) == .unavailable(reason: "routing_unknown"))
        r.observed(Self.proven(.crc32))
        #expect(r.partitioner == .crc32)
        r.assigned(0)
        r.assigned(1)
        #expect(r.route(key: keys[0]!.utf8) == .unavailable(reason: "restoring"))
        r.ready(0)
        r.ready(1)
        #expect(r.route(key: keys[0]!.utf8) == .local(partition: 0))
        #expect(r.route(key: keys[1]!.utf8) == .local(partition: 1))
        #expect(r.route(key: keys[2]!.utf8) == .unavailable(reason: "moving"))  // nobody claimed 2
        r.apply(record("a", [0, 1]), position: 0)
        r.apply(record("b", [2, 3]), position: 1)
        #expect(r.route(key: keys[2]!.utf8) == .elsewhere(url: "http://b:9464/"))
        #expect(r.route(key: keys[3]!.utf8) == .elsewhere(url: "http://b:9464/"))
        #expect(r.record(now: 5) == InstanceRecord(instance: "a", url: "http://a:9464/", partitions: [0, 1], partitionCount: Self.n,
                                                    partitioner: .crc32, time: 5))

        // A cooperative move of 1 from a to b: a releases (its own old record still claims 1:
        // never routed back here), b claims it later.
        r.released(1)
        #expect(r.route(key: keys[1]!.utf8) == .unavailable(reason: "moving"))
        r.apply(record("a", [0]), position: 2)
        #expect(r.route(key: keys[1]!.utf8) == .unavailable(reason: "moving"))
        r.apply(record("b", [1, 2, 3]), position: 3)
        #expect(r.route(key: keys[1]!.utf8) == .elsewhere(url: "http://b:9464/"))

        // b killed without a word: c claims its partitions later and wins; b's stale claim of 3 stays.
        r.apply(record("c", [1, 2]), position: 4)
        #expect(r.route(key: keys[1]!.utf8) == .elsewhere(url: "http://c:9464/"))
        #expect(r.route(key: keys[2]!.utf8) == .elsewhere(url: "http://c:9464/"))
        #expect(r.route(key: keys[3]!.utf8) == .elsewhere(url: "http://b:9464/"))
        // c stops: its empty record removes its claims; b's older claim of 2 counts again.
        r.apply(record("c", []), position: 5)
        #expect(r.route(key: keys[1]!.utf8) == .elsewhere(url: "http://b:9464/"))
    }

    @Test func thePartitionerComesFromTheRecordsOrFromAnotherInstance() {
        var r = ServingRouter(instance: "a", url: "http://a/", partitionCount: Self.n)
        // Another instance proved murmur2: used until this one's records prove otherwise.
        r.apply(record("b", [0, 1, 2, 3], .murmur2), position: 0)
        #expect(r.partitioner == .murmur2)
        let keys = Self.keys(.murmur2)
        for p in 0..<Int32(Self.n) { #expect(r.route(key: keys[p]!.utf8) == .elsewhere(url: "http://b:9464/")) }
        r.observed(Self.proven(.crc32))
        #expect(r.partitioner == .crc32)
        // This instance's own record never sets the announced partitioner.
        var s = ServingRouter(instance: "a", url: "http://a/", partitionCount: Self.n)
        s.apply(record("a", [0], .murmur2), position: 0)
        #expect(s.partitioner == nil)
        // Every partition here and ready: routable before the partitioner is known.
        for p in 0..<Int32(Self.n) { s.assigned(p); s.ready(p) }
        #expect(s.route(key: "anything".utf8) == .local(partition: 0))
    }

    @Test func instanceRecordsRoundTripAsJSON() throws {
        let r = InstanceRecord(instance: "host-1-17", url: "https://10.0.0.7:9464/", partitions: [3, 5], partitionCount: 12,
                               partitioner: .murmur2, time: 1_700_000_000_000)
        let text = String(decoding: r.json, as: UTF8.self)
        #expect(text == #"{"instance":"host-1-17","url":"https://10.0.0.7:9464/","partitions":[3,5],"partition_count":12,"partitioner":"murmur2","time":1700000000000}"#)
        #expect(InstanceRecord(json: r.json) == r)
        var unknown = r
        unknown.partitioner = nil
        #expect(InstanceRecord(json: unknown.json) == unknown)
        #expect(InstanceRecord(json: Array("not json".utf8)) == nil)
        #expect(InstanceRecord(json: Array(#"{"instance":"x"}"#.utf8)) == nil)
    }

    /// The mailbox routes with the installed router: features by key, a score by the event's key
    /// (a bad event gets the dead letter's 400 before anything is queued); a request queued for
    /// a partition that left is answered 503 `moving`.
    @Test func theMailboxRoutesAndAnswersFromTheTaskOfThePartition() async throws {
        let compiled = try ServingConsistencyTests.compile()
        let box = ServingMailbox()
        #expect(box.route(key: "u1") == .local(partition: -1))  // one instance: every key here
        var router = ServingRouter(instance: "a", url: "http://a/", partitionCount: Self.n)
        router.observed(Self.proven(.crc32))
        box.install(router: router, keys: EventKeyReader(compiled: compiled))
        let events = ServingConsistencyTests.events(200)
        let user = try #require((try JSONSerialization.jsonObject(with: Data(events.last!.utf8)) as? [String: Any])?["user"] as? String)
        let p = KeyPartitioner.crc32.partition(of: Array(user.utf8), count: Self.n)
        #expect(box.route(key: user) == .unavailable(reason: "moving"))
        box.updateRouter { $0.assigned(p); $0.ready(p) }
        #expect(box.route(key: user) == .local(partition: p))
        #expect(box.route(event: Array(events.last!.utf8)) == .local(partition: p))
        guard case .refused(let bad) = box.route(event: Array(#"{"user": 5}"#.utf8)) else { Issue.record("a bad event was routed"); return }
        #expect(bad.status == 400 && bad.text.contains("invalid_event"))

        var pipeline = try Pipeline(compiled: compiled)
        var sink = RecordingSink()
        try pipeline.process(ServingConsistencyTests.batch(events[...], first: 0), topic: "transactions", now: 0, into: &sink)
        box.role = .active
        let queued = Task { await box.submit(.features(key: user, partition: p)) }
        let gone = Task { await box.submit(.features(key: user, partition: p + 1)) }
        while box.queued < 2 { try await Task.sleep(for: .milliseconds(5)) }
        box.serve(tasks: { $0 == p ? pipeline : nil }, now: 0)
        let answered = await queued.value, refused = await gone.value
        #expect(answered == pipeline.featuresReply(key: user))
        #expect(answered.status == 200)
        #expect(refused.status == 503 && refused.text.contains("moving"))
    }
}
