import Testing
import WeirTestSupport

/// `OutputID`: the four parts of a `weir.id` header, and nil for anything else.
struct OutputIDTests {
    @Test func parsesTheFourPartsAndRejectsOtherText() {
        let id = OutputID("transactions/3/18771/2")
        #expect(id?.topic == "transactions" && id?.partition == 3 && id?.offset == 18_771 && id?.seq == 2)
        // Label-only batches after a restart name partition and offset -1.
        #expect(OutputID("events/-1/-1/0").map { [Int64($0.partition), $0.offset] } == [-1, -1])
        for bad in [nil, "", "transactions/3/18771", "transactions/3/18771/2/9", "/3/1/0", "t/x/1/0", "t/3/1.5/0", "t/3/1/"] {
            #expect(OutputID(bad) == nil, "\(bad ?? "nil")")
        }
    }
}
