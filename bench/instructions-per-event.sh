#!/usr/bin/env bash
# Instructions per drained event, by mode, independent of the machine's load.
# Four callgrind totals per configuration: 1 and 3 measured rounds (after 3
# warm-up rounds), at -n N and at -n 2000. The difference in rounds keeps only
# steady-state drains (a fresh process's first drains run partly in OSR'd,
# less optimised code: up to 1.5x the steady count at 128 B); the small run
# measures what a round costs whatever its size (reading the program's
# counters, a fresh reader, verifying: 2-6 million instructions), which is
# subtracted. Repeated totals differ by about 3 million instructions, so at
# N = 200,000 a count is good to about ±20 per event. TurboFan compiles
# synchronously (--no-concurrent-recompilation) so that under valgrind the code
# is what it is natively. The fill runs in the kernel (BPF_PROG_TEST_RUN) and
# is not counted. Run as root from the repo root, each configuration as
# "mode size batch [touch]" (touch: field, the default, or all):
#   bash bench/instructions-per-event.sh "view 128 64" "native 128 1" "copy 2048 64 all"
set -euo pipefail
cd "$(dirname "$0")/.."
count() { # mode size batch touch events runs
  valgrind --tool=callgrind --callgrind-out-file=/dev/null \
    node --no-concurrent-recompilation dist/bench.js --mode "$1" --event-size "$2" --batch "$3" --touch "$4" -n "$5" \
    --ring-size 512M --runs "$6" --warmup 3 2>&1 | sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
small=2000
for cfg in "$@"; do
  read -r mode size batch touch <<<"$cfg"
  touch=${touch:-field}
  # The N-API callback costs thousands of instructions an event: fewer events keep valgrind's time reasonable.
  if [ "$mode" = callback ]; then n=50000; else n=200000; fi
  per_drain=$(( ($(count "$mode" "$size" "$batch" "$touch" "$n" 3) - $(count "$mode" "$size" "$batch" "$touch" "$n" 1)) / 2 ))
  per_round=$(( ($(count "$mode" "$size" "$batch" "$touch" "$small" 3) - $(count "$mode" "$size" "$batch" "$touch" "$small" 1)) / 2 ))
  echo "$mode size=$size batch=$batch touch=$touch instructions/event=$(( (per_drain - per_round) / (n - small) ))"
done
