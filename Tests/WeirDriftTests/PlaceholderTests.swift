import Testing
@testable import WeirDrift
