import Foundation
import Testing
import WeirTestSupport
@testable import WeirKafka

/// The two partitioners serving routes by: Kafka's published murmur2 vectors, the CRC-32 check
/// value, and kcat (librdkafka) producing with each partitioner as the independent reference.
struct KeyPartitionerTests {
    @Test func murmur2MatchesKafkasUtilsTestVectors() {
        // org.apache.kafka.common.utils.UtilsTest.testMurmur2 (Java signed ints).
        let cases: [(String, Int32)] = [
            ("21", -973_932_308), ("foobar", -790_332_482), ("a-little-bit-long-string", -985_981_536),
            ("a-little-bit-longer-string", -1_486_304_829), ("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58_897_971),
            ("abc", 479_470_107),
        ]
        for (text, expected) in cases {
            let h = Array(text.utf8).withUnsafeBytes { KeyPartitioner.murmur2($0) }
            #expect(Int32(bitPattern: h) == expected, "murmur2(\(text))")
        }
    }

    @Test func crc32IsZlibs() {
        #expect(Array("123456789".utf8).withUnsafeBytes { KeyPartitioner.crc32($0) } == 0xCBF4_3926)
        #expect(Array("".utf8).withUnsafeBytes { KeyPartitioner.crc32($0) } == 0)
    }

    @Test func theDetectorKeepsOnlyThePartitionerTheRecordsAgreeWith() {
        for truth in KeyPartitioner.allCases {
            var d = PartitionerDetector()
            #expect(d.partitioner == nil)
            for i in 0..<200 {
                let key = Array("user-\(i)".utf8)
                key.withUnsafeBytes { d.observe(key: $0, partition: truth.partition(of: key, count: 12), count: 12) }
            }
            #expect(d.partitioner == truth)
        }
        // Neither (e.g. round robin): nothing left, no route.
        var d = PartitionerDetector()
        for i in 0..<200 {
            Array("user-\(i)".utf8).withUnsafeBytes { d.observe(key: $0, partition: Int32(i % 12), count: 12) }
        }
        #expect(d.candidates.isEmpty && d.partitioner == nil)
        #expect(d.wantsSample(0) && d.wantsSample(4095) && !d.wantsSample(4097) && d.wantsSample(8192))
    }

    /// kcat writes keyed records with librdkafka's `consistent_random` (its default) and
    /// `murmur2_random` (the Java client's); each record's partition is the one computed here.
    @Test(.requires(.kcat))
    func partitionsEqualLibrdkafkasForBothPartitioners() throws {
        let broker = try EmbeddedBroker()
        for (partitioner, expected) in [("consistent_random", KeyPartitioner.crc32), ("murmur2_random", .murmur2)] {
            let topic = uniqueName("keys-\(partitioner)")
            try broker.createTopic(topic, partitions: 7)
            let keys = (0..<300).map { i in i % 3 == 0 ? "u\(i)" : "card-\(i * 7919)-é" }
            let input = keys.map { "\($0)|v" }.joined(separator: "\n") + "\n"
            try run("kcat", ["-P", "-b", broker.bootstrapServers, "-t", topic, "-K", "|", "-X", "partitioner=\(partitioner)"], stdin: Data(input.utf8))
            let out = try run("kcat", ["-C", "-b", broker.bootstrapServers, "-t", topic, "-o", "beginning", "-e", "-q", "-f", "%k|%p\\n"])
            let rows = out.split(separator: "\n").map { $0.split(separator: "|", omittingEmptySubsequences: false) }
            #expect(rows.count == keys.count)
            var d = PartitionerDetector()
            for r in rows {
                let key = Array(r[0].utf8)
                let p = Int32(r[1])!
                #expect(expected.partition(of: key, count: 7) == p, "\(partitioner): \(r[0])")
                key.withUnsafeBytes { d.observe(key: $0, partition: p, count: 7) }
            }
            #expect(d.partitioner == expected)
        }
    }
}
