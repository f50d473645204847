# The uncapped topic broker of ScaleBench and CrashBench (benchmarks/scalebench/topic_broker.c:
# librdkafka's mock cluster with the topics it is given created up front, built against the
# static librdkafka of ../shared/bench/setup.sh, whose retention cap is raised). Sourced.
#
#   build_topic_broker DIR                  compiles it to DIR/broker (exit 2 without the library)
#   start_topic_broker DIR SECONDS TOPIC:PARTITIONS...
#                                           starts it for SECONDS; sets BROKER_PID and
#                                           BROKER_BOOTSTRAP (log in DIR/broker.log)
TOPIC_BROKER_SRC=/tmp/bench-src/librdkafka-2.0.2/src

build_topic_broker() {
  local lib=$TOPIC_BROKER_SRC/librdkafka.a
  [ -f "$lib" ] || { echo "no $lib: run ../shared/bench/setup.sh first (SKIP_FLINK=1)" >&2; exit 2; }
  gcc -O2 -Wall -o "$1/broker" "$(dirname "${BASH_SOURCE[0]}")/topic_broker.c" -I"$TOPIC_BROKER_SRC" "$lib" \
    -lpthread -lz -lm -ldl -lrt
}

start_topic_broker() {
  local dir=$1 seconds=$2; shift 2
  rm -f "$dir/boot"
  "$dir/broker" "$seconds" "$@" > "$dir/boot" 2> "$dir/broker.log" & BROKER_PID=$!
  for _ in $(seq 100); do [ -s "$dir/boot" ] && break; sleep 0.1; done
  BROKER_BOOTSTRAP=$(head -1 "$dir/boot")
}
