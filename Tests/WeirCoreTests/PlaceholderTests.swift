import Testing
@testable import WeirCore
