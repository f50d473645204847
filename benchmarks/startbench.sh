#!/usr/bin/env bash
# How long `weir run` takes to start and to hand over (issue 16 item 4), for one or more builds,
# alternated ROUNDS times, each run on a fresh `weir broker` (the embedded broker) with the
# card-fraud topology and checkpoints in Kafka (the default: one active instance by the lease).
#
#   benchmarks/startbench.sh ROUNDS WEIR [WEIR...]
#
# start:     20,000 events already published; `weir run --stop-at-end`: wall from the start to
#            the exit, and the run's own "done" line (first event to last output flushed).
# hand-over: an active instance and a standby, 100 events published every 0.1 s; SIGTERM to the
#            active; time to the standby's first progress line with events (printed once a
#            second, so ±1 s).
set -euo pipefail
ROUNDS=$1; shift
ROOT=$(cd "$(dirname "$0")/.." && pwd)
T=$ROOT/topologies/card-fraud.yaml
W=$(mktemp -d /tmp/startbench.XXXX)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$W"' EXIT
"$1" generate --count 20000 --drift-at 10000 --output "$W/events.jsonl" 2>/dev/null
head -2000 "$W/events.jsonl" > "$W/first.jsonl"
sed -n '2001,20000p' "$W/events.jsonl" | split -l 100 - "$W/chunk."

broker() {  # starts a fresh broker with BIN; sets BS and BROKER
  rm -f "$W/bs"
  "$1" broker --bootstrap-file "$W/bs" --topic transactions:4 > "$W/broker.out" 2>&1 & BROKER=$!
  for _ in $(seq 100); do [ -s "$W/bs" ] && break; sleep 0.1; done
  BS=$(head -1 "$W/bs")
}
publish() { "$1" produce "$2" --topic transactions --brokers "$BS" --key-field user --timestamp-field ts > /dev/null 2>&1; }

for r in $(seq "$ROUNDS"); do
  for bin in "$@"; do
    name=$(basename "$bin")
    broker "$bin"; publish "$bin" "$W/events.jsonl"
    s=$(date +%s.%N)
    timeout 120 "$bin" run "$T" --brokers "$BS" --stop-at-end --metrics-port off > /dev/null 2> "$W/run.err"
    e=$(date +%s.%N)
    echo "round $r $name start: wall $(echo "$e - $s" | bc | cut -c1-5) s; $(grep -o 'done, .*' "$W/run.err" | cut -c1-80)"
    kill "$BROKER"; wait "$BROKER" 2>/dev/null || true

    broker "$bin"; publish "$bin" "$W/first.jsonl"
    "$bin" run "$T" --brokers "$BS" --metrics-port off --instance-id a > /dev/null 2> "$W/a.err" & A=$!
    sleep 8
    "$bin" run "$T" --brokers "$BS" --metrics-port off --instance-id b > /dev/null 2> "$W/b.err" & B=$!
    sleep 6
    grep -q standby "$W/b.err" || echo "round $r $name: the second instance is not standing by"
    ( for f in "$W"/chunk.*; do publish "$bin" "$f"; sleep 0.1; done ) & P=$!
    sleep 2
    s=$(date +%s.%N); kill -TERM "$A"; wait "$A" || true
    for _ in $(seq 600); do grep -q "restored checkpoint" "$W/b.err" && grep -qE "\] [1-9][0-9]* events" "$W/b.err" && break; sleep 0.1; done
    e=$(date +%s.%N)
    echo "round $r $name hand-over: $(echo "$e - $s" | bc | cut -c1-5) s from SIGTERM to the standby's first progress with events"
    kill -TERM "$B"; wait "$B" || true; kill "$P" 2>/dev/null || true; wait "$P" 2>/dev/null || true
    kill "$BROKER"; wait "$BROKER" 2>/dev/null || true
  done
done
