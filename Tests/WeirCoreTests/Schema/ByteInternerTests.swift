import Testing
import WeirCore
import WeirTestSupport

@Suite struct ByteInternerTests {
    @Test(arguments: [UInt64(1), 2, 3])
    func randomInsertRemoveLookupMatchesDictionary(seed: UInt64) {
        var g = SeededGenerator(seed: seed)
        var it = ByteInterner()
        var oracle: [[UInt8]: Int32] = [:]
        for step in 0..<20_000 {
            let len = Int.random(in: 0...12, using: &g)
            let key = (0..<len).map { _ in UInt8.random(in: 0...3, using: &g) }  // many collisions of prefixes
            if Bool.random(using: &g) || oracle.count < 50 {
                let id = it.intern(key)
                if let want = oracle[key] { #expect(id == want) } else {
                    #expect(!oracle.values.contains(id), "a new key gets a free id")
                    oracle[key] = id
                }
            } else if let (k, id) = oracle.randomElement(using: &g) {
                it.remove(id)
                oracle[k] = nil
                #expect(it.lookup(k) == nil)
            }
            if step % 1000 == 0 {
                #expect(it.count == oracle.count)
                for (k, id) in oracle {
                    #expect(it.lookup(k) == id)
                    #expect(it.bytes(of: id) == k)
                }
            }
        }
    }
}
