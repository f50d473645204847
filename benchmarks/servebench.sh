#!/usr/bin/env bash
# ServeBench (issue 21): the serving API's latency while `weir run` ingests, and the ingest rate
# with and without serving load; card-fraud topology, whole processes.
#
#   benchmarks/servebench.sh WEIR
#
# EVENTS card-fraud events (default 3,000,000; KEYS users, default 20,000; `weir generate`) are
# produced once to the benchmarks' uncapped mock broker (MOCK_BROKER, default
# /tmp/bench-bin/mock_broker from ../shared/bench/setup.sh: topic `events`, 4 partitions), else to
# a `weir broker` (topic `transactions`, 4 partitions; librdkafka's mock keeps only ~5 MiB per
# partition, so a run reads only the newest events). Then, RUNS times (default 2),
# interleaved:
#   idle  `weir run --stop-at-end --checkpoints none` with no requests;
#   load  the same while two wrk processes (1 thread, CONNS connections each, default 2, THINK_MS
#         think time per request, default 1 ms: closed loop, at most CONNS × 1000 requests/s each)
#         send GET /v1/features/u<k> and POST /v1/score (an event of user u<k>), from /readyz 200
#         until the run ends (wrk's connect errors after the run's exit are counted apart);
#   quiet the same requests for QUIET_S seconds (default 10) to a `weir run --from latest` that
#         ingests nothing (a new group at the end of the topic, its state empty: features 404):
#         latency when the machine is not saturated by ingest.
# The ingest rate is weir's own "done" line (first event → last output flushed). Latencies are
# wrk's (connect excluded), over the whole load window. Everything shares the machine's cores:
# weir's processing thread, librdkafka's threads, the HTTP event loops, the broker and wrk.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
weir="$1"
events="${EVENTS:-3000000}"
keys="${KEYS:-20000}"
runs="${RUNS:-2}"
conns="${CONNS:-2}"
dir="${SERVEBENCH_DIR:-/tmp/servebench}"
port="${PORT:-19464}"
mkdir -p "$dir"
export KEYS="$keys" THINK_MS="${THINK_MS:-1}" SERVEBENCH_LUA="$here/servebench"
file="$dir/card-fraud-$events-$keys.jsonl"
[ -s "$file" ] || "$weir" generate --count "$events" --keys "$keys" --seed 21 --output "$file"

rm -f "$dir/bootstrap"
mock="${MOCK_BROKER:-/tmp/bench-bin/mock_broker}"
if [ -x "$mock" ]; then
  topic=events
  "$mock" > "$dir/bootstrap" 2> "$dir/broker.log" &
else
  topic=transactions
  "$weir" broker --topic transactions:4 --bootstrap-file "$dir/bootstrap" > "$dir/broker.log" 2>&1 &
fi
broker=$!
trap 'kill $broker 2>/dev/null || true' EXIT
for _ in $(seq 1 200); do [ -s "$dir/bootstrap" ] && break; sleep 0.1; done
bs="$(head -1 "$dir/bootstrap")"
topology="$dir/card-fraud.yaml"
sed "s/topics: \[transactions\]/topics: [$topic]/" "$root/topologies/card-fraud.yaml" > "$topology"
"$weir" produce "$file" --topic "$topic" --brokers "$bs" --key-field user > /dev/null

one() {  # mode run -> prints "rate features-line score-line"
  local mode="$1" r="$2" log="$dir/run-$1-$2.log"
  local bounded=(--stop-at-end) duration=300s
  if [ "$mode" = quiet ]; then bounded=(--from latest); duration="${QUIET_S:-10}s"; fi
  "$weir" run "$topology" --brokers "$bs" --group-id "servebench-$mode-$r-$$" "${bounded[@]}" --checkpoints none \
    --metrics-port "$port" --metrics-host 127.0.0.1 > /dev/null 2> "$log" &
  local run=$!
  local wf="" ws=""
  if [ "$mode" != idle ]; then
    for _ in $(seq 1 600); do
      [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/readyz")" = 200 ] && break
      sleep 0.05
    done
    wrk -t1 -c"$conns" -d"$duration" -s "$here/servebench/features.lua" "http://127.0.0.1:$port" > /dev/null 2> "$dir/wrk-features-$mode-$r.log" &
    wf=$!
    wrk -t1 -c"$conns" -d"$duration" -s "$here/servebench/score.lua" "http://127.0.0.1:$port" > /dev/null 2> "$dir/wrk-score-$mode-$r.log" &
    ws=$!
  fi
  if [ "$mode" = quiet ]; then
    wait $wf $ws || true
    kill -INT $run; wait $run || true
    echo 0; return
  fi
  wait $run
  if [ -n "$wf" ]; then kill -INT $wf $ws; wait $wf $ws || true; fi
  local rate
  rate=$(sed -n 's/.*(\([0-9]*\) events\/s).*/\1/p' "$log" | tail -1)
  echo "$rate"
}

echo "ServeBench — $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), $events events, $keys keys, broker $(basename "$(readlink -f "$mock" 2>/dev/null || echo weir)") topic $topic"
echo
echo "| run | mode | ingest events/s | endpoint | requests | requests/s | non-2xx | connect errors | other errors | p50 µs | p99 µs | p99.9 µs | max µs |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
for r in $(seq 1 "$runs"); do
  for mode in idle load quiet; do
    rate=$(one "$mode" "$r")
    if [ "$mode" = idle ]; then
      echo "| $r | idle | $rate | – | | | | | | | | | |"
    else
      for ep in features score; do
        line=$(grep '^SERVE' "$dir/wrk-$ep-$mode-$r.log" | tail -1)
        eval "$(echo "${line#SERVE }" | tr ' ' '\n' | sed 's/^/w_/')"
        echo "| $r | $mode | $rate | $ep | $w_requests | $(awk -v n="$w_requests" -v s="$w_seconds" 'BEGIN { printf "%.0f", n / s }') | $w_non2xx | $w_connect | $w_other | $w_p50_us | $w_p99_us | $w_p999_us | $w_max_us |"
      done
    fi
  done
done
