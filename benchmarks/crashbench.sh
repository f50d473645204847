#!/usr/bin/env bash
# CrashBench (issue 17): `weir run` of card-fraud at real key counts, SIGKILLed at seeded points
# while it works through a backlog, restarted each time, then run to the end; what it wrote is
# compared with `weir replay` of the same input (the uninterrupted reference).
#
#   benchmarks/crashbench.sh WEIR [KILLS=5] [SEED=17]
#
# Environment: N events (default 2,000,000) over KEYS users (default 1,000,000), drift from
# event N/2; EXTRA more `weir run` flags. The broker is benchmarks/scalebench/topic_broker.c on the
# uncapped static librdkafka of ../shared/bench/setup.sh (the embedded broker keeps only ~5 MiB
# per partition: a 1M-key checkpoint chain and 2M score records do not fit). One source
# partition, so that the run reads the input in the order `weir replay` does.
#
# Each killed run is killed a seeded 2–12 s after its restore finished (so it has checkpointed
# and is mid-stream); the restore line of every run is printed (state bytes, increments, seconds).
# Checks (exit 1 when one fails): every good event has a score; duplicates (at least once, same
# source offset and sequence header) are byte-identical to their first copy; after dropping
# them, scores, drift, alerts and retrain records equal the replay's as multisets.
set -euo pipefail
WEIR=$(realpath "$1"); KILLS=${2:-5}; SEED=${3:-17}
N=${N:-2000000}; KEYS=${KEYS:-1000000}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
source "$ROOT/benchmarks/scalebench/topic_broker.sh"
command -v kcat > /dev/null || { echo "kcat is needed (apt install kcat)" >&2; exit 2; }
W=$(mktemp -d /tmp/crashbench.XXXX)
bpid=""; rpid=""
trap '[ -n "$rpid" ] && kill -9 "$rpid" 2>/dev/null; [ -n "$bpid" ] && kill "$bpid" 2>/dev/null; rm -rf "$W"' EXIT
build_topic_broker "$W"
cp "$ROOT/topologies/card-fraud.yaml" "$W/topology.yaml"
"$WEIR" generate --count "$N" --keys "$KEYS" --drift-at $((N / 2)) --seed "$SEED" --output "$W/in.jsonl" 2>/dev/null
sinks="scores features drift alerts retrain models late dlq windows"
topics=("transactions:1" "card-fraud.changelog:1")
for s in $sinks; do topics+=("card-fraud.$s:4"); done
start_topic_broker "$W" 7200 "${topics[@]}"
bpid=$BROKER_PID; bs=$BROKER_BOOTSTRAP
echo "CrashBench: $N events over $KEYS users, $KILLS kills (seed $SEED), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%FT%TZ)"
"$WEIR" produce "$W/in.jsonl" --topic transactions --brokers "$bs" --key-field user --timestamp-field ts > /dev/null 2>&1
flags=(--brokers "$bs" --metrics-port off ${EXTRA:-})
rand() { awk -v s="$SEED" -v i="$1" 'BEGIN { srand(s * 1000 + i); printf "%.2f", 2 + 10 * rand() }'; }
for i in $(seq "$KILLS"); do
  "$WEIR" run "$W/topology.yaml" "${flags[@]}" > "$W/run$i.log" 2>&1 & rpid=$!
  for _ in $(seq 1200); do grep -q " scored, " "$W/run$i.log" 2>/dev/null && break; sleep 0.1; done
  t=$(rand "$i"); sleep "$t"
  kill -9 "$rpid"; wait "$rpid" 2>/dev/null || true; rpid=""
  echo "run $i: killed ${t} s after start-up; $(grep -o 'restored checkpoint.*reading it)' "$W/run$i.log" | sed 's/; offsets [^;]*//' | cut -c1-260 || echo 'nothing restored')"
done
start=$(date +%s.%N)
/usr/bin/time -f "%e %U %S %M" -o "$W/final.time" "$WEIR" run "$W/topology.yaml" "${flags[@]}" --stop-at-end > "$W/final.log" 2>&1 \
  || { echo "final run failed:"; tail -20 "$W/final.log"; exit 1; }
echo "final run: $(grep -o 'restored checkpoint.*reading it)' "$W/final.log" | sed 's/; offsets [^;]*//' | cut -c1-260 || echo 'nothing restored'); $(awk '{printf "wall %s s, CPU %.1f s, peak RSS %d MB", $1, $2 + $3, $4 / 1024}' "$W/final.time")"
"$WEIR" replay "$W/topology.yaml" --input "$W/in.jsonl" --output-dir "$W/replay" > /dev/null 2>&1
for k in scores drift alerts retrain; do
  kcat -C -b "$bs" -t "card-fraud.$k" -e -q -f '%h\t%s\n' > "$W/got-$k.tsv" 2>/dev/null || : > "$W/got-$k.tsv"
done
python3 - "$W" "$N" <<'PY'
import sys, collections
w, n = sys.argv[1], int(sys.argv[2])
ok = True
bad_inputs = 0  # the generator writes only good events
for kind in ["scores", "drift", "alerts", "retrain"]:
    first, kept, dups, differ = {}, [], 0, 0
    with open(f"{w}/got-{kind}.tsv", encoding="utf-8") as f:
        for line in f:
            headers, _, value = line.rstrip("\n").partition("\t")
            h = dict(kv.split("=", 1) for kv in headers.split(",") if "=" in kv)
            ident = h.get("weir.id")  # <source topic>/<partition>/<offset>/<seq>
            if ident in first:
                dups += 1
                differ += first[ident] != value
                continue
            first[ident] = value
            kept.append(value)
    try:
        expected = [l.rstrip("\n") for l in open(f"{w}/replay/{kind}.jsonl", encoding="utf-8")]
    except FileNotFoundError:
        expected = []
    same = collections.Counter(kept) == collections.Counter(expected)
    ok &= same and differ == 0 and (kind != "scores" or len(kept) == n - bad_inputs)
    print(f"{kind:8s} {len(kept):9d} after dropping {dups} duplicates ({differ} differing); replay {len(expected):9d}; {'equal' if same else 'DIFFERENT'}")
print("CrashBench:", "nothing lost, outputs equal the uninterrupted run" if ok else "FAILED")
sys.exit(0 if ok else 1)
PY
