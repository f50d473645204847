import Foundation

/// What a running consumer reports about itself for health probes: the partitions it owns,
/// whether its state is restored, whether the brokers answer, and the lag per partition.
///
/// The runner thread writes it (a few times per second at most, never per event); HTTP handlers
/// read it from other threads. All access goes through one lock, so it is safe to share.
public final class RuntimeStatus: @unchecked Sendable {
    /// A consistent copy of the status at one instant.
    public struct Snapshot: Sendable, Equatable {
        /// The source partitions currently assigned to this instance.
        public var assignedPartitions: [Int32] = []
        /// Keyed state (windows, models, monitors) is restored from its checkpoint, or there was
        /// none to restore: processing may start.
        public var stateRestored = false
        /// The last contact with the brokers succeeded (metadata, fetch or commit).
        public var brokerReachable = false
        /// Whether the consumer has subscribed and is polling (false once it stops).
        public var running = false
        /// Messages behind the partition's high watermark, per assigned partition (last measured).
        public var lag: [Int32: Int64] = [:]
        /// The last broker problem seen, if the brokers are unreachable (never contains secrets:
        /// librdkafka error strings name brokers, not credentials).
        public var lastBrokerError: String?
        /// Standing by: another instance of the topology holds the lease (``InstanceLease``).
        public var standby = false
        /// The window state against its memory budget (``StateBudget/summary``); nil without one.
        public var stateMemory: String?
        /// The state reached its budget: new keys are refused (not ready until it shrinks).
        public var refusingNewKeys = false

        public init() {}

        /// Ready to serve traffic: partitions assigned, state restored and brokers reachable.
        public var isReady: Bool { running && !assignedPartitions.isEmpty && stateRestored && brokerReachable && !refusingNewKeys }

        /// Why the instance is not ready (empty when it is), one short phrase per missing condition.
        public var notReadyReasons: [String] {
            var r: [String] = []
            if standby { r.append("standby: another instance is active") }
            if !running { r.append("consumer not running") }
            if assignedPartitions.isEmpty { r.append("no partitions assigned") }
            if !stateRestored { r.append("state not restored") }
            if !brokerReachable { r.append("broker not reachable" + (lastBrokerError.map { ": \($0)" } ?? "")) }
            if refusingNewKeys { r.append("state over its memory budget, new keys refused: " + (stateMemory ?? "")) }
            return r
        }
    }

    private let lock = NSLock()
    private var state = Snapshot()

    public init() {}

    /// A copy of the current status.
    public var snapshot: Snapshot { lock.withLock { state } }

    /// Applies `change` atomically.
    public func update(_ change: (inout Snapshot) -> Void) { lock.withLock { change(&state) } }

    public func setRunning(_ running: Bool) { update { $0.running = running } }
    public func setStateRestored(_ restored: Bool) { update { $0.stateRestored = restored } }
    public func setStandby(_ standby: Bool) { update { $0.standby = standby } }

    public func setBrokerReachable(_ reachable: Bool, error: String? = nil) {
        update {
            $0.brokerReachable = reachable
            $0.lastBrokerError = reachable ? nil : error
        }
    }

    public func assign(_ partitions: [Int32]) {
        update { s in s.assignedPartitions = Array(Set(s.assignedPartitions).union(partitions)).sorted() }
    }

    public func revoke(_ partitions: [Int32]) {
        update { s in
            let gone = Set(partitions)
            s.assignedPartitions.removeAll { gone.contains($0) }
            for p in partitions { s.lag.removeValue(forKey: p) }
        }
    }

    public func setLag(_ lag: [Int32: Int64]) { update { $0.lag = lag } }

    public func setStateMemory(_ budget: StateBudget) {
        update {
            $0.stateMemory = budget.summary
            $0.refusingNewKeys = budget.level == .refusingNewKeys
        }
    }
}
