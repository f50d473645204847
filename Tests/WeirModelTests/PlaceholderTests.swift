import Testing
@testable import WeirModel
