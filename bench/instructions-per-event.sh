#!/usr/bin/env bash
# Instructions per drained event, by mode, independent of the machine's load:
# callgrind's total with 6 measured rounds minus with 2, at the same -n, over
# 4 × n. Both invocations first run 4 warm-up rounds, so only steady-state
# drains are counted: a single drain of a fresh process runs partly in
# interpreted and on-stack-replaced code, and the first few drains of a loop
# that has not yet returned run less well optimised (up to 1.5× the steady
# instruction count at 128 B). TurboFan compiles synchronously
# (--no-concurrent-recompilation) so that under valgrind the code is what it
# is natively. The fill runs in the kernel (BPF_PROG_TEST_RUN) and is not
# counted. Run as root from the repo root, each configuration as
# "mode size batch [touch]" (touch: field, the default, or all):
#   bash bench/instructions-per-event.sh "view 128 64" "native 128 1" "copy 2048 64 all"
set -euo pipefail
cd "$(dirname "$0")/.."
count() { # mode size batch touch events runs
  valgrind --tool=callgrind --callgrind-out-file=/dev/null \
    node --no-concurrent-recompilation dist/bench.js --mode "$1" --event-size "$2" --batch "$3" --touch "$4" -n "$5" \
    --ring-size 64M --runs "$6" --warmup 4 2>&1 | sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
for cfg in "$@"; do
  read -r mode size batch touch <<<"$cfg"
  touch=${touch:-field}
  if [ "$size" -le 256 ]; then n=100000; else n=20000; fi
  a=$(count "$mode" "$size" "$batch" "$touch" "$n" 2)
  b=$(count "$mode" "$size" "$batch" "$touch" "$n" 6)
  echo "$mode size=$size batch=$batch touch=$touch instructions/event=$(( (b - a) / (4 * n) ))"
done
