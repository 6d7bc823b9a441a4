#!/usr/bin/env bash
# Instructions per drained event, by mode, independent of the machine's load:
# callgrind's total at n2 events minus at n1 events, over n2 - n1. TurboFan
# compiles synchronously (--no-concurrent-recompilation) so that under valgrind
# the drain loop runs optimised, as it does natively. The fill runs in the
# kernel (BPF_PROG_TEST_RUN) and is not counted. Run as root from the repo root,
# each configuration as "mode size batch [touch]" (touch: field, the default, or all):
#   bash bench/instructions-per-event.sh "view 128 64" "native 128 1" "copy 2048 64 all"
set -euo pipefail
cd "$(dirname "$0")/.."
count() { # mode size batch touch events
  valgrind --tool=callgrind --callgrind-out-file=/dev/null \
    node --no-concurrent-recompilation dist/bench.js --mode "$1" --event-size "$2" --batch "$3" --touch "$4" -n "$5" \
    --ring-size 64M --runs 1 --warmup 0 2>&1 | sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
for cfg in "$@"; do
  read -r mode size batch touch <<<"$cfg"
  touch=${touch:-field}
  if [ "$size" -le 256 ]; then n1=100000 n2=300000; else n1=10000 n2=30000; fi
  a=$(count "$mode" "$size" "$batch" "$touch" "$n1")
  b=$(count "$mode" "$size" "$batch" "$touch" "$n2")
  echo "$mode size=$size batch=$batch touch=$touch instructions/event=$(( (b - a) / (n2 - n1) ))"
done
