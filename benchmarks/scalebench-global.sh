#!/usr/bin/env bash
# The global stage alone from its internal topic (issue 16: at least 3M events/s from batched
# records). ScaleBench computes the stages in process, then produces the tasks' batches to
# `scale.global` on the uncapped topic broker started here and reads them back as the global
# stage does (ScaleBench's `--kafka`). The broker runs on the same 2 cores.
#
#   benchmarks/scalebench-global.sh [EVENTS=1000000] [PARTITIONS=12] [FLAGS...]
#
# FLAGS go to ScaleBench, e.g. `--contract=/tmp/bench-data/events-1000000.jsonl` (the benchmark
# contract, from ../shared/bench/gen_events.py) and `--background-judging`. Needs the static
# librdkafka of ../shared/bench/setup.sh (SKIP_FLINK=1 bash ../shared/bench/setup.sh) and a
# release build: (cd benchmarks && swift build -c release --product ScaleBench). `SCALEBENCH=path`
# runs another ScaleBench binary (an A/B against an older build).
set -euo pipefail
EVENTS=${1:-1000000}; PARTITIONS=${2:-12}; shift $(( $# > 2 ? 2 : $# ))
ROOT=$(cd "$(dirname "$0")/.." && pwd)
source "$ROOT/benchmarks/scalebench/topic_broker.sh"
W=$(mktemp -d /tmp/scalebench-global.XXXX)
trap 'kill "${BROKER_PID:-0}" 2>/dev/null || true; rm -rf "$W"' EXIT
build_topic_broker "$W"
start_topic_broker "$W" 3600 "scale.global:$PARTITIONS"
BIN="$ROOT/benchmarks/.build/release"
LD_LIBRARY_PATH="$BIN" "${SCALEBENCH:-$BIN/ScaleBench}" "$EVENTS" "$PARTITIONS" "$@" "--kafka=$BROKER_BOOTSTRAP"
