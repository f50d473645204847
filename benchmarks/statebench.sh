#!/usr/bin/env bash
# StateBench (issue 17): keyed state at real key counts, whole process, card-fraud topology.
#
#   benchmarks/statebench.sh WEIR [BASELINE_WEIR] [-- CASES]
#
# For each case "EVENTS:KEYS" (default: 1000000:10000 400000:200000 2000000:1000000) it generates
# the card-fraud stream with `weir generate --count EVENTS --keys KEYS` once, then runs
# `weir replay topologies/card-fraud.yaml` RUNS times (default 3; env RUNS) with WEIR and, when
# given, BASELINE_WEIR interleaved (A B A B …, so both see the same machine), under
# /usr/bin/time: events/s (wall), CPU seconds, peak RSS. Prints one markdown row per run and
# the medians. Event files and outputs go to $STATEBENCH_DIR (default /tmp/statebench).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
weir="$1"; shift
base=""
if [ $# -gt 0 ] && [ "$1" != "--" ]; then base="$1"; shift; fi
[ "${1:-}" = "--" ] && shift
cases=("$@")
[ ${#cases[@]} -eq 0 ] && cases=(1000000:10000 400000:200000 2000000:1000000)
runs="${RUNS:-3}"
dir="${STATEBENCH_DIR:-/tmp/statebench}"
mkdir -p "$dir"
topology="$root/topologies/card-fraud.yaml"

one() {  # binary file -> "events_per_s cpu_s rss_mb"
  local bin="$1" file="$2" events="$3" out
  out="$dir/out-$$"
  rm -rf "$out"
  /usr/bin/time -f "%e %U %S %M" -o "$dir/time-$$" "$bin" replay "$topology" --input "$file" --output-dir "$out" 2>"$dir/replay-$$.log" >/dev/null
  read -r wall user sys rss < "$dir/time-$$"
  rm -rf "$out"
  awk -v e="$events" -v w="$wall" -v u="$user" -v s="$sys" -v r="$rss" 'BEGIN { printf "%d %.2f %.0f\n", e / w, u + s, r / 1024 }'
}

median() { sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

echo "StateBench — $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| events | keys | binary | run | events/s | CPU s | peak RSS MB |"
echo "|---|---|---|---|---|---|---|"
summary=()
for c in "${cases[@]}"; do
  events="${c%%:*}"; keys="${c##*:}"
  file="$dir/card-fraud-$events-$keys.jsonl"
  [ -s "$file" ] || "$weir" generate --count "$events" --keys "$keys" --seed 17 --output "$file"
  : > "$dir/a.txt"; : > "$dir/b.txt"
  for r in $(seq 1 "$runs"); do
    a=$(one "$weir" "$file" "$events"); echo "$a" >> "$dir/a.txt"
    echo "| $events | $keys | weir | $r | ${a// / | } |"
    if [ -n "$base" ]; then
      b=$(one "$base" "$file" "$events"); echo "$b" >> "$dir/b.txt"
      echo "| $events | $keys | baseline | $r | ${b// / | } |"
    fi
  done
  line="$events events, $keys keys: weir median $(cut -d' ' -f1 "$dir/a.txt" | median) events/s, $(cut -d' ' -f3 "$dir/a.txt" | median) MB"
  if [ -n "$base" ]; then
    line+="; baseline $(cut -d' ' -f1 "$dir/b.txt" | median) events/s, $(cut -d' ' -f3 "$dir/b.txt" | median) MB"
  fi
  summary+=("$line")
done
echo
printf '%s\n' "${summary[@]}"
