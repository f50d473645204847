import WeirCore
import WeirJSON

/// A partitioned task read a record whose message key is not the value of the topology's
/// `source.key` field (docs/scaling.md, "Keys and partitions: the rule"): events of one key may
/// then reach several partitions and their keyed windows would be split. The run stops at it
/// (the record's batch is not processed, so nothing from it on is checkpointed); a restart
/// after the source is fixed resumes from the last checkpoint.
public struct PartitionKeyError: Error, Sendable, Equatable, CustomStringConvertible {
    public let topic: String
    public let partition: Int32
    public let offset: Int64
    /// The message key's first bytes (``KeyMismatch/keptKeyBytes``); nil when the message had none.
    public let messageKey: [UInt8]?
    public let messageKeyLength: Int
    /// The topology's `source.key` field and the record's value of it as its message key should
    /// be (nil when the record has none).
    public let keyField: String
    public let fieldValue: [UInt8]?

    public init(topic: String, keyField: String, _ m: KeyMismatch) {
        self.topic = topic
        partition = m.partition
        offset = m.offset
        messageKey = m.messageKey
        messageKeyLength = m.messageKeyLength
        self.keyField = keyField
        fieldValue = m.fieldValue
    }

    public var description: String {
        let key = messageKey.map { "the message key is \(Self.shown($0, length: messageKeyLength))" } ?? "the message has no key (null)"
        let value = fieldValue.map { "the record's \(keyField) is \(Self.shown($0, length: $0.count))" }
            ?? "the record has no value for \(keyField)"
        return "\(topic) partition \(partition) offset \(offset): \(key) but \(value) (source.key: \(keyField)). "
            + "--partitioned needs every event of a key on one partition, so each message's key must be the value of \(keyField) "
            + "(docs/scaling.md). Produce with the message key = the value of \(keyField) (e.g. weir produce --key-field \(keyField)), "
            + "or run one instance without --partitioned (it accepts any keying). Nothing from this record on was processed: "
            + "a restart resumes from the last checkpoint."
    }

    /// Bytes for a message: a JSON string of (at most 64 characters of) valid UTF-8, else hex of
    /// the first 32 bytes; with the length when cut.
    static func shown(_ bytes: [UInt8], length: Int) -> String {
        let limit = 64
        // A key kept in part may end inside a character: up to 3 bytes of it are dropped.
        for drop in 0...(length > bytes.count ? min(3, bytes.count) : 0) {
            guard let text = String(validating: bytes.dropLast(drop), as: UTF8.self) else { continue }
            let cut = text.count > limit || length > bytes.count
            var json = JSONWriter(capacity: 96)
            var prefix = String(text.prefix(limit))
            prefix.withUTF8 { json.value(utf8: UnsafeRawBufferPointer($0)) }
            return cut ? "\(json.string)… (\(length) bytes)" : json.string
        }
        let hex = bytes.prefix(32).map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
        return "0x\(hex)\(length > 32 ? "… (\(length) bytes)" : "") (binary)"
    }
}
