import CRdKafka

/// Builds an `rd_kafka_conf_t` from name/value pairs, turning librdkafka's rejection of a
/// property into a typed error that names it.
///
/// Ownership: the returned pointer is owned by the caller until passed to `rd_kafka_new`,
/// which takes it on success. On any error thrown here the conf is already destroyed.
enum RDConfig {
    static func make(_ properties: [(String, String)]) throws(KafkaError) -> OpaquePointer {
        installErrorDescriber()
        guard let conf = rd_kafka_conf_new() else { throw .clientCreation(reason: "rd_kafka_conf_new failed") }
        var err = [CChar](repeating: 0, count: 512)
        for (name, value) in properties {
            let res = rd_kafka_conf_set(conf, name, value, &err, err.count)
            if res != RD_KAFKA_CONF_OK {
                rd_kafka_conf_destroy(conf)
                throw .invalidConfiguration(property: name, value: value, reason: err.cText)
            }
        }
        return conf
    }

    /// Creates a client of `type`; takes ownership of `conf` (destroyed on failure).
    static func newClient(_ type: rd_kafka_type_t, conf: OpaquePointer) throws(KafkaError) -> OpaquePointer {
        var err = [CChar](repeating: 0, count: 512)
        guard let rk = rd_kafka_new(type, conf, &err, err.count) else {
            rd_kafka_conf_destroy(conf)
            throw .clientCreation(reason: err.cText)
        }
        return rk
    }

    static func installErrorDescriber() {
        if KafkaErrorCode.describe == nil {
            KafkaErrorCode.describe = { code in String(cString: rd_kafka_err2str(rd_kafka_resp_err_t(code.rawValue))) }
        }
    }
}

extension KafkaError {
    /// Converts a plain response code into a `KafkaError.broker`.
    static func from(_ err: rd_kafka_resp_err_t, _ context: KafkaErrorContext, fatal: Bool = false) -> KafkaError {
        let code = KafkaErrorCode(rawValue: err.rawValue)
        return .broker(code: code, message: String(cString: rd_kafka_err2str(err)), context: context,
                       isFatal: fatal, isRetriable: false)
    }

    /// Converts (and destroys) an `rd_kafka_error_t`.
    static func consume(_ error: OpaquePointer, _ context: KafkaErrorContext, transactionalID: String? = nil) -> KafkaError {
        defer { rd_kafka_error_destroy(error) }
        let code = KafkaErrorCode(rawValue: rd_kafka_error_code(error).rawValue)
        let message = String(cString: rd_kafka_error_string(error))
        if code.isFencing, let transactionalID { return .fenced(transactionalID: transactionalID, message: message) }
        if rd_kafka_error_txn_requires_abort(error) != 0 { return .transactionRequiresAbort(message: message) }
        return .broker(code: code, message: message, context: context,
                       isFatal: rd_kafka_error_is_fatal(error) != 0,
                       isRetriable: rd_kafka_error_is_retriable(error) != 0)
    }
}

/// Topic-partition lists between Swift and C.
enum RDPartitionList {
    /// A new C list; the caller destroys it with `rd_kafka_topic_partition_list_destroy`.
    static func make(_ items: [TopicPartitionOffset]) -> UnsafeMutablePointer<rd_kafka_topic_partition_list_t> {
        let list = rd_kafka_topic_partition_list_new(Int32(max(1, items.count)))!
        for item in items {
            let e = rd_kafka_topic_partition_list_add(list, item.topic, item.partition)!
            e.pointee.offset = item.offset
        }
        return list
    }

    /// Entries whose per-partition `err` is set (librdkafka reports many failures there).
    static func readErrors(_ list: UnsafePointer<rd_kafka_topic_partition_list_t>) -> [(TopicPartitionOffset, rd_kafka_resp_err_t)] {
        var out: [(TopicPartitionOffset, rd_kafka_resp_err_t)] = []
        for i in 0..<Int(list.pointee.cnt) where list.pointee.elems[i].err != RD_KAFKA_RESP_ERR_NO_ERROR {
            let e = list.pointee.elems[i]
            out.append((TopicPartitionOffset(topic: String(cString: e.topic), partition: e.partition, offset: e.offset), e.err))
        }
        return out
    }

    static func read(_ list: UnsafePointer<rd_kafka_topic_partition_list_t>) -> [TopicPartitionOffset] {
        var out: [TopicPartitionOffset] = []
        out.reserveCapacity(Int(list.pointee.cnt))
        for i in 0..<Int(list.pointee.cnt) {
            let e = list.pointee.elems[i]
            out.append(TopicPartitionOffset(topic: String(cString: e.topic), partition: e.partition, offset: e.offset))
        }
        return out
    }
}

extension Array where Element == CChar {
    /// The NUL-terminated text librdkafka wrote into this buffer.
    var cText: String {
        String(decoding: prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
