#!/usr/bin/env bash
# ScaleBench through Kafka (issue 16): `weir run --partitioned` with 1, 2 and 4 instances against
# one plain instance, each mode on a fresh broker, alternated ROUNDS times. CPU is user+sys of
# every instance (`/usr/bin/time`); wall is the start of the runs to the last exit (group joins
# and start-up included); events/s = events / wall. On a 2-core machine the instances share the
# cores, so the rates say little about capacity; CPU per event is the figure (issue: 4 instances
# at most 1.25x one instance's).
#
#   benchmarks/scalebench.sh WEIR [ROUNDS=2] [MODES="single part1 part2 part4"]
#
# Modes: single (one plain instance, checkpoints as the topology says), single-none (the same
# with `--checkpoints none`: StateBench's checkpoint cost, issue 17), partN (N partitioned instances).
#
# Environment:
#   WORKLOAD   contract (default): ../shared/bench's 1M contract events (EVENTS_FILE, default
#              /tmp/bench-data/events-1000000.jsonl from gen_events.py; N = its line count) and
#              benchmarks/fraud-contract.yaml; or card-fraud: `weir generate --count N --keys KEYS
#              --seed 5` and topologies/card-fraud.yaml (N default 400,000, KEYS default 10,000).
#   PARTITIONS source partitions (default 12); the topology's internal topics are created with as
#              many (the mock broker has no CreateTopics and auto-creates 4).
#   TOPOLOGY   a topology file used instead of the workload's (same name and source topic).
#   EXTRA      more `weir run` flags for every mode (e.g. "--checkpoints none").
#   PARTITION_FLAGS more flags for the partitioned modes (e.g. "--weights-max-lead 16384").
# The broker is benchmarks/scalebench/topic_broker.c, built here against the uncapped static
# librdkafka of ../shared/bench/setup.sh (run that first: SKIP_FLINK=1 bash ../shared/bench/setup.sh).
# Each instance's last progress line (events, drift records, alerts) is printed beside the
# figures, so a mode that lost or doubled work shows, and its "done" line: its rate from its first
# event to its last output flushed. Compare modes by that rate: the wall rate and the progress
# line's rate include ~3 s of group start-up (the source group's, or with checkpoints in Kafka
# the lease group's: the active instance then assigns itself the partitions).
set -euo pipefail
WEIR=$(realpath "$1"); ROUNDS=${2:-2}; MODES=${3:-"single part1 part2 part4"}
WORKLOAD=${WORKLOAD:-contract}; PARTITIONS=${PARTITIONS:-12}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
source "$ROOT/benchmarks/scalebench/topic_broker.sh"
W=$(mktemp -d /tmp/scalebench.XXXX)
# KEEP=1 keeps the instances' logs ($W/MODE.log.N) and says where.
if [ -n "${KEEP:-}" ]; then trap 'echo "logs kept in $W"' EXIT; else trap 'rm -rf "$W"' EXIT; fi
build_topic_broker "$W"
case $WORKLOAD in
  contract)
    EVENTS_FILE=${EVENTS_FILE:-/tmp/bench-data/events-1000000.jsonl}
    [ -s "$EVENTS_FILE" ] || { echo "no $EVENTS_FILE: python3 ../shared/bench/gen_events.py 1000000 $EVENTS_FILE" >&2; exit 2; }
    cp "$EVENTS_FILE" "$W/events.jsonl"
    cp "$ROOT/benchmarks/fraud-contract.yaml" "$W/topology.yaml"
    name=fraud-contract; topic=events; outputs="drift:1 alerts:1 windows:1" ;;
  card-fraud)
    "$WEIR" generate --count "${N:-400000}" --keys "${KEYS:-10000}" --seed 5 --output "$W/events.jsonl" 2>/dev/null
    cp "$ROOT/topologies/card-fraud.yaml" "$W/topology.yaml"
    name=card-fraud; topic=transactions; outputs="" ;;
  *) echo "WORKLOAD is contract or card-fraud" >&2; exit 2 ;;
esac
# TOPOLOGY: another topology file for the workload's stream (same name and source topic), e.g.
# card-fraud with `processing: {output_headers: none}`.
if [ -n "${TOPOLOGY:-}" ]; then cp "$TOPOLOGY" "$W/topology.yaml"; fi
N=$(wc -l < "$W/events.jsonl")
run_mode() {
  local mode=$1 log=$W/$1.log
  start_topic_broker "$W" 3600 "$topic:$PARTITIONS" "$name.changelog:$PARTITIONS" "$name.global:$PARTITIONS" \
    "$name.global.changelog:1" "$name.weights:1" "$name.instances:1" $outputs
  local bpid=$BROKER_PID bs=$BROKER_BOOTSTRAP
  "$WEIR" produce "$W/events.jsonl" --topic "$topic" --brokers "$bs" --key-field user --timestamp-field ts > /dev/null 2>&1
  local flags=(--brokers "$bs" --stop-at-end --metrics-port off ${EXTRA:-})
  local n=1 extra=()
  case $mode in
    single) ;;
    single-none) extra=(--checkpoints none) ;;
    part*) n=${mode#part}; extra=(--partitioned ${PARTITION_FLAGS:-}) ;;
  esac
  rm -f "$W/$mode.time"*
  local start; start=$(date +%s.%N)
  local pids=()
  for i in $(seq "$n"); do
    /usr/bin/time -f "%U %S %M" -o "$W/$mode.time$i" "$WEIR" run "$W/topology.yaml" "${flags[@]}" "${extra[@]}" > "$log.$i" 2>&1 & pids+=($!)
  done
  local failed=0
  for p in "${pids[@]}"; do wait "$p" || failed=1; done
  local end; end=$(date +%s.%N)
  kill "$bpid" 2>/dev/null; wait "$bpid" 2>/dev/null || true
  if [ $failed = 1 ]; then echo "$mode: an instance failed:"; tail -5 "$log".*; return 1; fi
  local cpu; cpu=$(cat "$W/$mode.time"* | awk '{s+=$1+$2} END {print s}')
  local rss; rss=$(cat "$W/$mode.time"* | awk '{if ($3>m) m=$3} END {print m}')
  python3 - "$mode" "$N" "$start" "$end" "$cpu" "$rss" <<'PY'
import sys
mode, n, start, end, cpu, rss = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6])
wall = end - start
print(f"{mode:7s} wall {wall:7.2f} s  {n / wall:9.0f} events/s  CPU {cpu:7.2f} s = {cpu / n * 1e6:6.2f} s per 1M events  peak RSS {rss / 1024:6.0f} MB (one instance)")
PY
  for i in $(seq "$n"); do
    echo "        instance $i: $(grep "drift records" "$log.$i" | tail -1 | cut -c1-200)"
    # `weir run`'s own rate, from its first event to its last output flushed (no start-up)
    grep -o "done, .*" "$log.$i" | tail -1 | sed 's/^/                    /' || true
  done
}
echo "ScaleBench ($WORKLOAD): $N events on $PARTITIONS partitions, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%FT%TZ), $($WEIR --version 2>/dev/null || true)"
for r in $(seq "$ROUNDS"); do for m in $MODES; do run_mode "$m"; done; done
