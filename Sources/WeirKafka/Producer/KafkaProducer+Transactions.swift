import CRdKafka

/// Transactions: the base of exactly-once processing.
///
/// Note on the embedded broker: librdkafka's mock cluster accepts every transactional request
/// but does not enforce them (EndTxn writes no markers, so aborted records stay visible to
/// `read_committed` consumers, and offsets sent to a transaction are not stored).
extension KafkaProducer {
    private var txnID: String { configuration.transactionalID ?? "" }

    private func check(_ error: OpaquePointer?, _ op: String) throws(KafkaError) {
        guard let error else { return }
        throw KafkaError.consume(error, KafkaErrorContext(operation: op), transactionalID: configuration.transactionalID)
    }

    private func requireTransactional(_ op: String) throws(KafkaError) {
        if configuration.transactionalID == nil { throw .invalidState("\(op) needs a transactional.id") }
    }

    /// Registers the transactional id with the coordinator, fencing older producers with the same id.
    public func initTransactions(timeout: Duration = .seconds(30)) throws(KafkaError) {
        try requireTransactional("initTransactions")
        try check(rd_kafka_init_transactions(rk, Int32(timeout.milliseconds)), "init_transactions")
    }

    public func beginTransaction() throws(KafkaError) {
        try requireTransactional("beginTransaction")
        try check(rd_kafka_begin_transaction(rk), "begin_transaction")
    }

    /// Adds the consumer's offsets to the open transaction (committed with it).
    public func sendOffsetsToTransaction(
        _ offsets: [TopicPartitionOffset], consumer: KafkaConsumer, timeout: Duration = .seconds(30)
    ) throws(KafkaError) {
        try requireTransactional("sendOffsetsToTransaction")
        guard let meta = rd_kafka_consumer_group_metadata(consumer.rk) else {
            throw .invalidState("consumer has no group metadata")
        }
        defer { rd_kafka_consumer_group_metadata_destroy(meta) }
        let list = RDPartitionList.make(offsets)
        defer { rd_kafka_topic_partition_list_destroy(list) }
        try check(rd_kafka_send_offsets_to_transaction(rk, list, meta, Int32(timeout.milliseconds)), "send_offsets_to_transaction")
    }

    /// Flushes and commits the open transaction.
    public func commitTransaction(timeout: Duration = .seconds(30)) throws(KafkaError) {
        try requireTransactional("commitTransaction")
        try check(rd_kafka_commit_transaction(rk, Int32(timeout.milliseconds)), "commit_transaction")
    }

    /// Aborts the open transaction; its queued messages are purged.
    public func abortTransaction(timeout: Duration = .seconds(30)) throws(KafkaError) {
        try requireTransactional("abortTransaction")
        try check(rd_kafka_abort_transaction(rk, Int32(timeout.milliseconds)), "abort_transaction")
    }
}
