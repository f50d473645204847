#!/usr/bin/env bash
# RestoreBench (issue 17): how long `weir run` takes to restore keyed state from a changelog that
# holds a whole run's checkpoints. One checkpointed run of card-fraud (N events over KEYS users,
# default checkpoints) fills `card-fraud.changelog`; then each binary given, in order, restarts
# the same group with `--stop-at-end` (nothing left to read) ROUNDS times, and its restore log
# line is printed: the state restored (full image + increments), the changelog offsets read (from
# 2026-12-08), the seconds taken and of them reading. Each restart writes one more (small)
# checkpoint before it stops, so the binaries restore the same chain plus those. Give binaries
# that write the `weir.chain.start` header first: a commit record written without it (an older
# binary's) makes the next restore read the whole changelog.
#
#   benchmarks/restorebench.sh WEIR [WEIR_B...]
#
# Environment: N (default 2,000,000), KEYS (default 1,000,000), ROUNDS (default 3), SEED (17),
# RATE (events per second of event time, `weir generate --rate`; default the generator's),
# TOPOLOGY (default topologies/card-fraud.yaml; same name and source topic), FILL (the binary
# that fills the changelog; default the first). The broker is benchmarks/scalebench/topic_broker.c
# on the uncapped static librdkafka of ../shared/bench/setup.sh (the embedded broker keeps only
# ~5 MiB per partition). One source partition, one changelog partition.
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 WEIR [WEIR_B...]" >&2; exit 2; }
BINS=(); for b in "$@"; do BINS+=("$(realpath "$b")"); done
N=${N:-2000000}; KEYS=${KEYS:-1000000}; ROUNDS=${ROUNDS:-3}; SEED=${SEED:-17}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
FILL=$(realpath "${FILL:-${BINS[0]}}")
source "$ROOT/benchmarks/scalebench/topic_broker.sh"
W=$(mktemp -d /tmp/restorebench.XXXX)
bpid=""
trap '[ -n "$bpid" ] && kill "$bpid" 2>/dev/null; rm -rf "$W"' EXIT
build_topic_broker "$W"
cp "${TOPOLOGY:-$ROOT/topologies/card-fraud.yaml}" "$W/topology.yaml"
"$FILL" generate --count "$N" --keys "$KEYS" --seed "$SEED" ${RATE:+--rate "$RATE"} --output "$W/in.jsonl" 2>/dev/null
topics=("transactions:1" "card-fraud.changelog:1")
for s in scores features drift alerts retrain models late dlq windows; do topics+=("card-fraud.$s:4"); done
start_topic_broker "$W" 14400 "${topics[@]}"
bpid=$BROKER_PID; bs=$BROKER_BOOTSTRAP
echo "RestoreBench: $N events over $KEYS users, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%FT%TZ)"
"$FILL" produce "$W/in.jsonl" --topic transactions --brokers "$bs" --key-field user --timestamp-field ts > /dev/null 2>&1
rm -f "$W/in.jsonl"
flags=(--brokers "$bs" --metrics-port off --stop-at-end)
/usr/bin/time -f "%e s wall, %U + %S s CPU, peak RSS %M KB" -o "$W/fill.time" "$FILL" run "$W/topology.yaml" "${flags[@]}" > "$W/fill.log" 2>&1
echo "fill: $(grep -o 'done, .*' "$W/fill.log" | tail -1); $(cat "$W/fill.time")"
echo "changelog after the fill: $(kcat -C -b "$bs" -t card-fraud.changelog -e -q -f '%o\n' -o -1 2>/dev/null | tail -1 | awk '{print $1 + 1}') records"
i=0
for b in "${BINS[@]}"; do
  i=$((i + 1))
  for r in $(seq "$ROUNDS"); do
    /usr/bin/time -f "%e s wall, %U + %S s CPU, peak RSS %M KB" -o "$W/r.time" "$b" run "$W/topology.yaml" "${flags[@]}" > "$W/r.log" 2>&1 \
      || { echo "binary $i round $r failed:"; tail -5 "$W/r.log"; exit 1; }
    echo "round $r binary $i: $(grep -o 'restored checkpoint epoch.*' "$W/r.log" | head -1 | sed 's/; offsets [^;]*;/;/')"
    echo "                  process: $(cat "$W/r.time")"
  done
done
