#!/usr/bin/env python3
"""ServeBench's paced producer input: writes `key<TAB>line` records of a JSONL file (key: the
"user" field) to stdout at RATE records/s for SECONDS seconds, in 5 ms steps (for `kcat -P -K '\t'`,
whose default partitioner is librdkafka's consistent_random, as `weir produce`'s). Wraps around
the file if it is too short. Prints the number of records written on stderr."""
import sys, time

path, rate, seconds = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
out = sys.stdout.buffer
sent = 0
start = time.monotonic()
with open(path, "rb") as f:
    while True:
        elapsed = time.monotonic() - start
        if elapsed >= seconds:
            break
        chunk = []
        for _ in range(int(elapsed * rate) - sent):
            line = f.readline()
            if not line:
                f.seek(0)
                line = f.readline()
            i = line.find(b'"user":"') + 8
            chunk.append(line[i:line.find(b'"', i)] + b"\t" + line)
        if chunk:
            out.write(b"".join(chunk))
            out.flush()
            sent += len(chunk)
        time.sleep(0.005)
print(sent, file=sys.stderr)
