import Foundation

/// Writes each output kind to `<directory>/<kind>.jsonl` and dead letters to `dlq.jsonl`
/// (`{"reason", "field", "topic", "partition", "offset", "value"}` with the original text).
/// Files are created on first write; buffered, flushed by ``close()``.
public struct JSONLDirectorySink: OutputSink {
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
        buffers[kind.rawValue].append(contentsOf: value)
        buffers[kind.rawValue].append(0x0A)
        if buffers[kind.rawValue].count > 1 << 20 { try flush(kind.rawValue) }
    }

    public mutating func deadLetter(original: UnsafeRawBufferPointer, reason: String, field: String?, source: SourcePosition) throws {
        var w = JSONBytes()
        w.begin()
        w.field("reason", reason)
        w.field("field", field)
        w.field("topic", source.topic)
        w.field("partition", Int64(source.partition))
        w.field("offset", source.offset)
        w.key("value")
        w.string(bytes: original)
        w.end()
        buffers[Self.dlq].append(contentsOf: w.bytes)
        buffers[Self.dlq].append(0x0A)
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
