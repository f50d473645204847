#!/usr/bin/env bash
# ServeBench (issue 21): the serving API's latency while `weir run` ingests, and the ingest rate
# with and without serving load; card-fraud topology, whole processes.
#
#   benchmarks/servebench.sh WEIR [BASE_WEIR]
#
# With BASE_WEIR (e.g. main's release build) every mode runs with both binaries, interleaved
# (A = WEIR, B = BASE_WEIR), so the figures compare on a noisy machine.
#
# EVENTS card-fraud events (default 3,000,000; KEYS users, default 20,000; `weir generate`) are
# produced once to the benchmarks' uncapped mock broker (MOCK_BROKER, default
# /tmp/bench-bin/mock_broker from ../shared/bench/setup.sh: topic `events`, 4 partitions), else to
# a `weir broker` (topic `transactions`, 4 partitions; librdkafka's mock keeps only ~5 MiB per
# partition, so a run reads only the newest events). Then, RUNS times (default 2), per binary:
#   idle   `weir run --stop-at-end --checkpoints none` with no requests: the ingest rate (CHECKPOINTS=kafka:
#          every mode with Weir's default checkpoints instead);
#   load   the same while wrk sends GET /v1/features/u<k> and POST /v1/score (an event of user
#          u<k>), RATE requests/s to each endpoint (default 2000) over CONNS connections each
#          (default 4, one per wrk thread), paced by servebench/common.lua (open-loop schedule,
#          1 ms timer resolution), from /readyz 200 until the run ends (connect errors after the
#          run's exit are counted apart);
#   quiet  the same requests for QUIET_S seconds (default 10) to a `weir run --from latest` that
#          ingests nothing (its state is empty: features answer 404): the wait for an idle loop.
# Then, RUNS times, per binary (after every bounded run: these append to the topic):
#   paced  a `weir run --from latest` (new group, state empty; 2 s after /readyz for the group's
#          first assignment) while PACED_S seconds (default 20) of events are produced at PACED_SHARE percent (default 20) of the first idle run's
#          ingest rate (servebench/pace.py → kcat, keyed by user, librdkafka's default
#          partitioner like `weir produce`); the same requests from 2 s after the producer starts
#          until 2 s before it ends: latency when the machine is not saturated by ingest. Ingest
#          there is the produced rate; weir's event count is checked against the produced one.
# RUN_FLAGS: more `weir run` options for every run (e.g. `--partitioned`: one partitioned
# instance, its tasks and the global stage).
# MODES (default "idle load quiet") chooses the first modes (idle first: the paced rate is a share
# of its rate); PACED=0 skips the paced runs.
# Latencies (µs) are common.lua's, uncorrected: `p*` from the request written to the response
# read, `sched p99` from when the request was due (includes waiting behind a slow answer). wrk's
# own percentiles are coordinated-omission "corrected" with synthetic samples (see common.lua) and
# are not used. `engine p99` is weir's own figure (its last stderr line, "serving, …"): how long
# requests waited for the run loop (a power-of-two bound; binaries before it print none: –).
# The ingest rate is weir's own "done" line (first event → last output flushed). Everything shares
# the machine's cores: weir's processing thread, librdkafka's threads, the HTTP event loops, the
# broker, wrk (and in paced mode the producer).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
bins=("$1")
[ $# -ge 2 ] && bins+=("$2")
weir="$1"
events="${EVENTS:-3000000}"
keys="${KEYS:-20000}"
runs="${RUNS:-2}"
conns="${CONNS:-4}"
dir="${SERVEBENCH_DIR:-/tmp/servebench}"
port="${PORT:-19464}"
paced_s="${PACED_S:-20}"
mkdir -p "$dir"
export KEYS="$keys" CONNS="$conns" RATE="${RATE:-2000}" SERVEBENCH_LUA="$here/servebench"
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

wait_ready() {
  for _ in $(seq 1 600); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/readyz")" = 200 ] && return 0
    sleep 0.05
  done
}

start_wrk() {  # tag duration -> starts both wrk processes, their pids in wf/ws
  wrk -t"$conns" -c"$conns" -d"$2" -s "$here/servebench/features.lua" "http://127.0.0.1:$port" > /dev/null 2> "$dir/wrk-features-$1.log" &
  wf=$!
  wrk -t"$conns" -c"$conns" -d"$2" -s "$here/servebench/score.lua" "http://127.0.0.1:$port" > /dev/null 2> "$dir/wrk-score-$1.log" &
  ws=$!
}

one() {  # bin-index mode run -> prints the ingest rate; logs in $dir
  local b="$1" mode="$2" r="$3" bin="${bins[$1]}" tag="$1-$2-$3" log="$dir/run-$1-$2-$3.log"
  local bounded=(--stop-at-end) duration=300s
  [ "$mode" = quiet ] || [ "$mode" = paced ] && bounded=(--from latest)
  "$bin" run "$topology" --brokers "$bs" --group-id "servebench-$tag-$$" "${bounded[@]}" --checkpoints "${CHECKPOINTS:-none}" \
    --metrics-port "$port" --metrics-host 127.0.0.1 ${RUN_FLAGS:-} > /dev/null 2> "$log" &
  local run=$!
  wf="" ws=""
  case "$mode" in
    idle) wait $run; sed -n 's/.*(\([0-9]*\) events\/s).*/\1/p' "$log" | tail -1 ;;
    load)
      wait_ready; start_wrk "$tag" "$duration"
      wait $run
      kill -INT $wf $ws; wait $wf $ws || true
      sed -n 's/.*(\([0-9]*\) events\/s).*/\1/p' "$log" | tail -1 ;;
    quiet)
      wait_ready; start_wrk "$tag" "${QUIET_S:-10}s"
      wait $wf $ws || true
      kill -INT $run; wait $run || true
      echo 0 ;;
    paced)
      wait_ready
      sleep 2  # the group's first assignment (--from latest: what is produced before it is skipped)
      local rate=$((idle_rate * ${PACED_SHARE:-20} / 100))
      python3 "$here/servebench/pace.py" "$file" "$rate" "$paced_s" 2> "$dir/pace-$tag.log" \
        | kcat -P -b "$bs" -t "$topic" -K $'\t' 2> "$dir/kcat-$tag.log" &
      local pace=$!
      sleep 2
      start_wrk "$tag" "$((paced_s - 4))s"
      wait $wf $ws || true
      wait $pace
      sleep 2
      kill -INT $run; wait $run || true
      local produced processed
      produced=$(tail -1 "$dir/pace-$tag.log")
      processed=$(sed -n 's/.*done, \([0-9]*\) events.*/\1/p' "$log" | tail -1)
      [ "$produced" = "$processed" ] || echo "paced run $tag: produced $produced, weir processed ${processed:-?}" >&2
      echo $((produced / paced_s)) ;;
  esac
}

rows() {  # bin-index mode run rate -> table rows
  local tag="$1-$2-$3" engine
  engine=$(sed -n 's/.*serving, .* p99 ≤ \([0-9]*\) µs.*/\1/p' "$dir/run-$tag.log" | tail -1)
  for ep in features score; do
    line=$(grep '^SERVE' "$dir/wrk-$ep-$tag.log" | tail -1)
    eval "$(echo "${line#SERVE }" | tr ' ' '\n' | sed 's/^/w_/')"
    echo "| $3 | $(printf "\\x$(printf %x $((65 + $1)))") | $2 | $4 | $ep | $w_requests | $(awk -v n="$w_requests" -v s="$w_seconds" 'BEGIN { printf "%.0f", n / s }') | $w_non2xx | $w_connect | $w_other | $w_p50_us | $w_p99_us | $w_p999_us | $w_max_us | $w_sched_p99_us | ${engine:-–} | $w_wrk_p99_us |"
  done
}

echo "ServeBench — $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), $events events, $keys keys, broker $(basename "$(readlink -f "$mock" 2>/dev/null || echo weir)") topic $topic, $RATE requests/s per endpoint over $conns connections each, checkpoints ${CHECKPOINTS:-none}"
for b in "${!bins[@]}"; do echo "$(printf "\\x$(printf %x $((65 + b)))") = ${bins[$b]}"; done
echo
echo "| run | weir | mode | ingest events/s | endpoint | requests | requests/s | non-2xx | connect errors | other errors | p50 µs | p99 µs | p99.9 µs | max µs | sched p99 µs | engine p99 µs | wrk's corrected p99 µs |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
idle_rate=""
for r in $(seq 1 "$runs"); do
  for b in "${!bins[@]}"; do
    for mode in ${MODES:-idle load quiet}; do
      rate=$(one "$b" "$mode" "$r")
      if [ "$mode" = idle ]; then
        [ -n "$idle_rate" ] || idle_rate="$rate"
        echo "| $r | $(printf "\\x$(printf %x $((65 + b)))") | idle | $rate | – | | | | | | | | | | | | |"
      else
        rows "$b" "$mode" "$r" "$rate"
      fi
    done
  done
done
for r in $(seq 1 "$runs"); do
  [ "${PACED:-1}" = 1 ] || break
  for b in "${!bins[@]}"; do
    rate=$(one "$b" paced "$r")
    rows "$b" paced "$r" "$rate"
  done
done
echo
echo "paced: ${PACED_SHARE:-20}% of the first idle run's ingest rate ($idle_rate events/s)"
