#!/usr/bin/env bash
# Instructions per drained event, ring buffer vs perf buffer, independent of
# the machine's load: callgrind's total at n2 events minus at n1, over n2 - n1
# (the method of bench/instructions-per-event.sh, on bench/kernel-paths.ts's
# single fill + drain, since the CLI has no perf modes yet). The fill runs in
# the kernel and is not counted. Run as root from the repo root after npm test:
#   bash bench/perf-instructions.sh "ringbuf js-view 128" "perfbuf js-view 128"
set -euo pipefail
cd "$(dirname "$0")/.."
count() { # buffer mode size events
  valgrind --tool=callgrind --callgrind-out-file=/dev/null \
    node --no-concurrent-recompilation build/bench/kernel-paths.js once "$1" "$2" "$3" "$4" 2>&1 |
    sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
for cfg in "$@"; do
  read -r buffer mode size <<<"$cfg"
  if [ "$size" -le 256 ]; then n1=50000 n2=150000; else n1=10000 n2=30000; fi
  a=$(count "$buffer" "$mode" "$size" "$n1")
  b=$(count "$buffer" "$mode" "$size" "$n2")
  echo "$buffer $mode size=$size instructions/event=$(( (b - a) / (n2 - n1) ))"
done
