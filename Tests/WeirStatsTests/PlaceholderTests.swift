import Testing
import Foundation
@testable import WeirStats
@Test func fixturePresent() throws {
  let url = try #require(Bundle.module.url(forResource: "numeric_drift", withExtension: "jsonl", subdirectory: "Fixtures"))
  #expect(try Data(contentsOf: url).count > 100)
}
