#!/usr/bin/env bash
# PartitionBench (issue 16): `weir run` through Kafka on the uncapped benchmark broker
# (../shared/bench: /tmp/bench-bin/mock_broker), card-fraud without its `by: global` window
# (FULL=1: the whole card-fraud topology, `global_mean_5m` run by the global stage), N events over K users published keyed by user to a 4-partition topic. Modes, each on a fresh
# broker, alternated ROUNDS times:
#   single  one instance, no --partitioned (the lease mode)
#   part1   one instance --partitioned (tasks and the global stage in one process)
#   part2   two instances --partitioned (tasks split, one runs the global stage)
# Prints wall seconds (start of the runs to the last exit, group joins included), events/s and
# CPU seconds (user+sys, all instances) per million events.
# usage: [FULL=1] [PARTITION_FLAGS="--weights-max-lead 4096"] benchmarks/partitionbench.sh WEIR [N=400000] [ROUNDS=2] [MODES="single part1 part2"]
set -euo pipefail
WEIR=$(realpath "$1"); N=${2:-400000}; ROUNDS=${3:-2}; MODES=${4:-"single part1 part2"}
BROKER=/tmp/bench-bin/mock_broker
[ -x "$BROKER" ] || { echo "no $BROKER: run ../shared/bench/setup.sh first" >&2; exit 2; }
ROOT=$(cd "$(dirname "$0")/.." && pwd)
W=$(mktemp -d /tmp/partitionbench.XXXX)
if [ "${FULL:-0}" = 1 ]; then cp "$ROOT/topologies/card-fraud.yaml" "$W/cf.yaml"; else grep -v global_mean_5m "$ROOT/topologies/card-fraud.yaml" > "$W/cf.yaml"; fi
"$WEIR" generate --count "$N" --keys 10000 --seed 5 --output "$W/events.jsonl" 2>/dev/null
run_mode() {
  local mode=$1 log=$W/$1.log
  "$BROKER" 3600 > "$W/boot" 2>/dev/null & local bpid=$!
  for _ in $(seq 100); do [ -s "$W/boot" ] && break; sleep 0.1; done
  local bs; bs=$(head -1 "$W/boot")
  "$WEIR" produce "$W/events.jsonl" --topic transactions --brokers "$bs" --key-field user --timestamp-field ts 2>/dev/null
  local flags=(--brokers "$bs" --stop-at-end --metrics-port off)
  local n=1 extra=()
  case $mode in
    single) ;;
    part1) extra=(--partitioned ${PARTITION_FLAGS:-}) ;;
    part2) extra=(--partitioned ${PARTITION_FLAGS:-}); n=2 ;;
  esac
  local start; start=$(date +%s.%N)
  local pids=()
  for i in $(seq $n); do
    /usr/bin/time -f "%U %S" -o "$W/$mode.time$i" "$WEIR" run "$W/cf.yaml" "${flags[@]}" "${extra[@]}" > "$log.$i" 2>&1 & pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p"; done
  local end; end=$(date +%s.%N)
  kill "$bpid" 2>/dev/null; wait "$bpid" 2>/dev/null || true
  local cpu; cpu=$(cat "$W/$mode.time"* | awk '{s+=$1+$2} END {print s}')
  python3 - "$mode" "$N" "$start" "$end" "$cpu" <<'PY'
import sys
mode, n, start, end, cpu = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
wall = end - start
print(f"{mode:7s} wall {wall:7.2f} s  {n / wall:9.0f} events/s  CPU {cpu:7.2f} s = {cpu / n * 1e6:6.2f} s per 1M events")
PY
}
echo "PartitionBench: $N events, $([ "${FULL:-0}" = 1 ] && echo "whole card-fraud" || echo "card-fraud without global_mean_5m"), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%FT%TZ)"
for r in $(seq "$ROUNDS"); do for m in $MODES; do run_mode "$m"; done; done
rm -rf "$W"
