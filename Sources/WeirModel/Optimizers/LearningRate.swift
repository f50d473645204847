import WeirStats

/// A learning-rate schedule: the rate at step `t` (the number of steps taken before this one).
///
/// - `constant(r)`: `r`.
/// - `inverseScaling(r, power)`: `r / (t + 1)^power` (River's `InverseScaling`, power 0.5 by default).
/// - Complexity: O(1); `inverseScaling` costs one `pow`.
public enum LearningRate: Sendable, Equatable {
    case constant(Double)
    case inverseScaling(Double, power: Double = 0.5)

    @inlinable public func rate(at t: Int) -> Double {
        switch self {
        case .constant(let r): return r
        case .inverseScaling(let r, let p):
            if p == 0.5 { return r / Double(t + 1).squareRoot() }
            return r / _pow(Double(t + 1), p)
        }
    }
}

extension LearningRate {
    func serialize(into w: inout ByteWriter) {
        switch self {
        case .constant(let r): w.write(UInt8(0)); w.write(r); w.write(0.0)
        case .inverseScaling(let r, let p): w.write(UInt8(1)); w.write(r); w.write(p)
        }
    }

    init(deserializing r: inout ByteReader) throws(SerializationError) {
        let kind = try r.readUInt8(), a = try r.readDouble(), b = try r.readDouble()
        switch kind {
        case 0: self = .constant(a)
        case 1: self = .inverseScaling(a, power: b)
        default: throw .invalidValue(field: "LearningRate", detail: "kind \(kind)")
        }
    }
}

#if canImport(Glibc)
import Glibc
@inlinable func _pow(_ a: Double, _ b: Double) -> Double { Glibc.pow(a, b) }
@inlinable func _exp(_ a: Double) -> Double { Glibc.exp(a) }
@inlinable func _log(_ a: Double) -> Double { Glibc.log(a) }
#else
import Darwin
@inlinable func _pow(_ a: Double, _ b: Double) -> Double { Darwin.pow(a, b) }
@inlinable func _exp(_ a: Double) -> Double { Darwin.exp(a) }
@inlinable func _log(_ a: Double) -> Double { Darwin.log(a) }
#endif
