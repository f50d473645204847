import Foundation
import WeirJSON

/// Writes each output kind to `<directory>/<kind>.jsonl` and dead letters to `dlq.jsonl`
/// (`{"reason", "field", "topic", "partition", "offset", "value"}` with the original text).
/// Every file, dead letters included, streams: records are buffered per file and written when a
/// buffer passes ``flushThreshold`` bytes and by ``close()``, so memory stays bounded whatever
/// the input's size.
public struct JSONLDirectorySink: OutputSink {
    /// A file's buffer is written once it holds more than this many bytes (so it never holds more
    /// than this plus one record).
    public static let flushThreshold = 1 << 20
    public let directory: String
    private var handles: [Int: FileHandle] = [:]
    private var buffers: [[UInt8]] = Array(repeating: [], count: OutputKind.allCases.count + 1)
    private static let dlq = OutputKind.allCases.count

    /// Creates the directory if needed; existing files of the same names are replaced.
    public init(directory: String) throws {
        self.directory = directory
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        for name in OutputKind.allCases.map(\.name) + ["dlq"] {
            let path = (directory as NSString).appendingPathComponent(name + ".jsonl")
            if FileManager.default.fileExists(atPath: path) { try FileManager.default.removeItem(atPath: path) }
        }
    }

    public mutating func write(_ kind: OutputKind, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer) throws {
        try appendLine(kind.rawValue, value)
    }

    public mutating func deadLetter(original: UnsafeRawBufferPointer, reason: String, field: String?, source: SourcePosition) throws {
        var w = JSONWriter()
        w.beginObject()
        w.field("reason", reason)
        w.field("field", field)
        w.field("topic", source.topic)
        w.field("partition", Int64(source.partition))
        w.field("offset", source.offset)
        w.key("value")
        w.value(utf8: original)
        w.endObject()
        try w.bytes.withUnsafeBytes { try appendLine(Self.dlq, $0) }
    }

    /// Bytes buffered and not yet written, over all files.
    public var bufferedBytes: Int { buffers.reduce(0) { $0 + $1.count } }

    private mutating func appendLine(_ i: Int, _ line: UnsafeRawBufferPointer) throws {
        buffers[i].append(contentsOf: line)
        buffers[i].append(0x0A)
        if buffers[i].count > Self.flushThreshold { try flush(i) }
    }

    private mutating func flush(_ i: Int) throws {
        guard !buffers[i].isEmpty else { return }
        let handle: FileHandle
        if let h = handles[i] {
            handle = h
        } else {
            let name = i == Self.dlq ? "dlq" : OutputKind(rawValue: i)!.name
            let path = (directory as NSString).appendingPathComponent(name + ".jsonl")
            FileManager.default.createFile(atPath: path, contents: nil)
            guard let h = FileHandle(forWritingAtPath: path) else { throw CocoaError(.fileWriteUnknown) }
            handles[i] = h
            handle = h
        }
        try handle.write(contentsOf: buffers[i])
        buffers[i].removeAll(keepingCapacity: true)
    }

    /// Writes what is buffered and closes the files (an output with no records is an empty file).
    public mutating func close() throws {
        for i in buffers.indices {
            try flush(i)
            let name = i == Self.dlq ? "dlq" : OutputKind(rawValue: i)!.name
            let path = (directory as NSString).appendingPathComponent(name + ".jsonl")
            if !FileManager.default.fileExists(atPath: path) { FileManager.default.createFile(atPath: path, contents: nil) }
        }
        for h in handles.values { try h.close() }
        handles.removeAll()
    }
}
