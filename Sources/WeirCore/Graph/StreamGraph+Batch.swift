extension StreamGraph {
    /// Processes the messages `bytes[starts[i]..<starts[i + 1]]` for `i` in `0..<starts.count − 1`,
    /// all from `partition`, with offsets `firstOffset + i`, appending to ``outputs`` (not
    /// cleared). Trailing whitespace such as a line's `\n` is allowed in a message.
    ///
    /// The outputs and state are exactly those of calling ``process(_:partition:offset:now:)`` on
    /// each message in order: the batch is first decoded (decoding does not depend on window
    /// state), then each record goes through the windows, the feature vector and the watermark
    /// in order. While record `i` is processed, the keyed state of record `i + d`
    /// (`d` = ``prefetchDistance``) is prefetched in three stages (key slot at `i + 3d`, key list
    /// tail at `i + 2d`, window entry and accumulators at `i + d`), so the cache misses of several
    /// records overlap.
    /// - Precondition: `starts` is non-decreasing and within `bytes` (as ``InputBatch`` builds it).
    /// - Complexity: O(bytes + records × per-record work); allocation-free in steady state.
    public mutating func process(messages bytes: UnsafeRawBufferPointer, starts: UnsafeBufferPointer<Int>,
                                 partition: Int32 = 0, firstOffset: Int64 = 0, now: Int64) {
        processBatch(bytes, starts: starts, partitions: nil, offsets: nil, partition: partition, firstOffset: firstOffset, now: now)
    }

    /// The batch loop: `partitions`/`offsets` per message when given, else `partition` and
    /// `firstOffset + i`.
    mutating func processBatch(_ bytes: UnsafeRawBufferPointer, starts: UnsafeBufferPointer<Int>,
                               partitions: UnsafeBufferPointer<Int32>?, offsets: UnsafeBufferPointer<Int64>?,
                               partition: Int32, firstOffset: Int64, now: Int64) {
        let count = starts.count - 1
        guard count > 0 else { return }
        if timeField < 0 { advanceProcessingTime(now) }
        let first = outputs.records.count
        for i in 0..<count {
            let m = UnsafeRawBufferPointer(rebasing: bytes[starts[i]..<starts[i + 1]])
            let p = partitions.map { $0[i] } ?? partition
            let o = offsets.map { $0[i] } ?? firstOffset &+ Int64(i)
            do {
                _ = try decoder.decode(m, into: &outputs.records, partition: p, offset: o)
                recordsProcessed += 1
            } catch {
                outputs.deadLetters.append(DeadLetter(partition: p, offset: o, error: error))
                deadLetterCount += 1
            }
        }
        stepDecodedRows(first: first, now: now)
    }

    /// ``process(_:now:)`` of a batch holding message keys, with ``keyCheckField`` set: the decode
    /// pass also compares each decoded record's key field with its message key; the first
    /// mismatch stops the batch before any record of it reaches the windows.
    mutating func processCheckingKeys(_ input: InputBatch, now: Int64) {
        let count = input.count
        guard count > 0 else { return }
        if timeField < 0 { advanceProcessingTime(now) }
        let first = outputs.records.count
        let field = keyCheckField
        let type = spec.schema.fields[field].type
        let mismatch: Int? = input.bytes.withUnsafeBytes { all in
            input.keyBytes.withUnsafeBytes { keys in
                input.starts.withUnsafeBufferPointer { starts in
                    input.keyStarts.withUnsafeBufferPointer { keyStarts in
                        input.keyIsNull.withUnsafeBufferPointer { keyIsNull in
                            input.partitions.withUnsafeBufferPointer { partitions in
                                input.offsets.withUnsafeBufferPointer { offsets in
                                    for i in 0..<count {
                                        let m = UnsafeRawBufferPointer(rebasing: all[starts[i]..<starts[i + 1]])
                                        let p = partitions[i], o = offsets[i]
                                        let row: Int
                                        do throws(DecodeError) {
                                            row = try decoder.decode(m, into: &outputs.records, partition: p, offset: o)
                                        } catch {
                                            outputs.deadLetters.append(DeadLetter(partition: p, offset: o, error: error))
                                            deadLetterCount += 1
                                            continue
                                        }
                                        guard !keyIsNull[i], messageKeyMatches(UnsafeRawBufferPointer(rebasing: keys[keyStarts[i]..<keyStarts[i + 1]]),
                                                                               row: row, field: field, type: type) else { return i }
                                        recordsProcessed += 1
                                    }
                                    return nil
                                }
                            }
                        }
                    }
                }
            }
        }
        if let i = mismatch {
            let row = outputs.records.count - 1
            input.withKey(i) { key in
                outputs.keyMismatch = KeyMismatch(partition: input.partitions[i], offset: input.offsets[i], messageKey: key,
                                                  fieldValue: messageKeyText(row: row, field: keyCheckField))
            }
            return
        }
        stepDecodedRows(first: first, now: now)
    }

    /// The records decoded from `first` on through the windows, features and watermark, in
    /// order, prefetching keyed window state ahead.
    mutating func stepDecodedRows(first: Int, now: Int64) {
        let end = outputs.records.count
        let d = min(max(0, prefetchDistance), 64)  // clamped: any setting is safe
        let keyed = keyedWindows
        if d > 0 { for w in keyed { windows[w].prepareLookahead(rows: end) } }
        if keyed.isEmpty || d == 0 {
            for row in first..<end { stepRow(row, now: now) }
            return
        }
        // The keyed windows' indices through a pointer: iterating the array per row retained
        // and released it.
        keyed.withUnsafeBufferPointer { ks in
            // warm-up of the pipeline: the stages of the first rows
            for j in 0..<3 * d {
                let r = first - 3 * d + j
                Self.lookahead(&windows, ks, outputs.records, r3: r + 3 * d, r2: r + 2 * d >= first ? r + 2 * d : end,
                               r1: r + d >= first ? r + d : end, end: end)
            }
            // every row's stage 1 (the key hash) runs before the row itself: resolveKey reuses it
            for w in ks { windows[w].hashedRows = first..<end }
            defer { for w in ks { windows[w].hashedRows = 0..<0 } }
            for row in first..<end {
                Self.lookahead(&windows, ks, outputs.records, r3: row + 3 * d, r2: row + 2 * d, r1: row + d, end: end)
                stepRow(row, now: now)
            }
        }
    }

    /// The three prefetch stages of one step of the batch loop (rows at or past `end` skipped).
    @inline(__always)
    static func lookahead(_ windows: inout [WindowOperator], _ keyed: UnsafeBufferPointer<Int>, _ records: RecordBatch,
                          r3: Int, r2: Int, r1: Int, end: Int) {
        for w in keyed { windows[w].lookahead(records, r3: r3, r2: r2, r1: r1, end: end) }
    }

    @inline(__always)
    mutating func stepRow(_ row: Int, now: Int64) {
        Self.stepDecoded(row, partition: outputs.records.partition(row), now: now, timeField: timeField,
                         processingWatermark: processingWatermark, watermarks: &watermarks, windows: &windows,
                         assembler: assembler, records: &outputs.records, features: &outputs.features,
                         results: &outputs.windowResults, late: &outputs.late)
    }
}
