#!/usr/bin/env bash
# Re-takes every published figure: the README's sample outputs, the issue 8
# target runs that bench/RESULTS.md quotes, the instruction counts, and
# bench/results/ (sweep, pipeline run, report). Run as root from the repo root
# on an idle machine, after `npm ci && npm test` (the callgrind step needs
# valgrind):
#   bash bench/retake.sh            # everything, about 1 h 15 min idle (2-vCPU VM)
#   bash bench/retake.sh readme     # only the README samples (~5 min)
#   bash bench/retake.sh targets    # only the target runs (~10 min)
#   bash bench/retake.sh sweep      # only bench/results/ (sweep, pipeline, report; ~10 min)
#   bash bench/retake.sh callgrind  # only the instruction counts (~30 min; CALLGRIND=all: every one, ~1 h)
#   bash bench/retake.sh triggers   # only the --trigger syscall runs of RESULTS (~6 min)
#   bash bench/retake.sh readme targets   # several steps, in order
# Every command is printed before it runs and its output kept under
# bench/results/retake/, named after the step; machine.txt records the
# machine, the load and the versions (appended, one section per invocation). Nothing here edits README.md or
# RESULTS.md: paste from the files (they are the commands' exact output).
set -euo pipefail
cd "$(dirname "$0")/.."
out=bench/results/retake
mkdir -p "$out"

run() { # name, command...
  local name=$1
  shift
  echo "+ $*" | tee "$out/$name.txt"
  "$@" 2>&1 | tee -a "$out/$name.txt"
}

machine() {
  {
    date -u +%FT%TZ
    uptime
    uname -r
    node --version
    lscpu | grep -E 'Model name|^CPU\(s\)|L2|L3'
  } >>"$out/machine.txt"
}

readme() {
  # "Sample output": the seed's setting (touch field, a commit per record), then everything at --batch 64.
  run readme-both node dist/bench.js --mode both -n 2000000
  run readme-all-batch64 node dist/bench.js --mode all -n 2000000 --batch 64
  run readme-all-batch64-touch-all node dist/bench.js --mode all -n 2000000 --batch 64 --touch all
  # "Concurrent pipeline": the headline, and a paced run with the native reference and a histogram.
  run readme-pipeline-headline node dist/bench.js --mode both --producers 2
  run readme-pipeline-paced node dist/bench.js --mode all --producers 2 --rate 1M --duration 3s --histogram "$out/paced.hgrm"
  # "Per-interval report": producers at a kernel hook, a line per second, then mean ± stddev.
  run readme-report-interval node dist/bench.js --producers 2 --trigger syscall --duration 3s --report-interval 1s --mode view --runs 1 --warmup 0 --ring-size 64M
}

triggers() {
  # RESULTS, ringbuf vs perfbuf with producers at a kernel hook (issue 11): the JavaScript and
  # native consumers at 128 B and 2 KiB, 1 and 2 producers, each producer thread making getpgid()
  # at the attached hook. --mode all in the pipeline is copy, view, native and their perf twins,
  # so every invocation interleaves both buffers under the same load (TRIGGER_MODES overrides it).
  local modes=${TRIGGER_MODES:-all}
  for size in 128 2048; do
    for producers in 1 2; do
      run "trigger-syscall-$size-${producers}p" node dist/bench.js --producers "$producers" --trigger syscall \
        --event-size "$size" --duration 3s --mode "$modes" --runs 3 --warmup 1 --ring-size 256M --report-interval 1s
    done
  done
  # The same with sampled wake-ups and bpf_ringbuf_output (128 B: output takes events up to 472 B).
  run trigger-syscall-128-2p-threshold64k-output node dist/bench.js --producers 2 --trigger syscall \
    --event-size 128 --duration 3s --mode "$modes" --runs 3 --warmup 1 --ring-size 256M --wakeup threshold:64K --submit output
}

targets() {
  # Issue 8 targets, each in one invocation (medians of interleaved rounds).
  for size in 128 2048; do
    run "target-$size-field-batch64" node dist/bench.js --mode all --event-size "$size" -n "$([ "$size" = 128 ] && echo 2000000 || echo 200000)" --batch 64 --runs 11
    run "target-$size-field-batch1" node dist/bench.js --mode both --event-size "$size" -n "$([ "$size" = 128 ] && echo 2000000 || echo 200000)" --batch 1 --runs 11
    run "target-$size-all-batch64" node dist/bench.js --mode all --event-size "$size" -n "$([ "$size" = 128 ] && echo 2000000 || echo 200000)" --batch 64 --touch all --runs 11
  done
  run target-pipeline-2k-1p node dist/bench.js --producers 1 --event-size 2048 -n 2500000 --mode view --runs 3 --warmup 1
  run target-pipeline-paced-p99 node dist/bench.js --producers 2 --rate 1M --duration 3s --mode all --runs 3 --warmup 1
}

sweep() {
  # Both buffers' nine modes, every 32 B from 16 B to 2 KiB, both touch levels.
  run sweep node dist/sweep.js --sizes 16..2048:32 --modes all --touch field,all --runs 3 --warmup 1 --bytes-per-run 16M --ring-size 64M --out bench/results
  echo "+ node dist/bench.js --mode all --producers 2 -n 2000000 --histogram bench/results/pipeline-2p.hgrm --json > bench/results/pipeline-2p.json" | tee "$out/pipeline-2p.txt"
  node dist/bench.js --mode all --producers 2 -n 2000000 --histogram bench/results/pipeline-2p.hgrm --json >bench/results/pipeline-2p.json
  run plot node dist/plot.js bench/results/sweep.json bench/results/pipeline-2p.json \
    "copy (hgrm)=bench/results/pipeline-2p.copy.hgrm" "view (hgrm)=bench/results/pipeline-2p.view.hgrm" \
    "native (hgrm)=bench/results/pipeline-2p.native.hgrm" "perf-view (hgrm)=bench/results/pipeline-2p.perf-view.hgrm" \
    "perf-native (hgrm)=bench/results/pipeline-2p.perf-native.hgrm" -o bench/results/report.html --log
}

callgrind() {
  # CALLGRIND=all re-counts every configuration of RESULTS (about an hour idle); the default, the
  # four ring buffer references at 128 B and the perf buffer's eight (about 30 minutes).
  if [ "${CALLGRIND:-}" = all ]; then
    run instructions bash bench/instructions-per-event.sh \
      "view 128 64" "native 128 1" "copy 128 64" "native-copy 128 1" "view 128 1" "copy 128 1" "callback 128 1" \
      "view 2048 64" "native 2048 1" "copy 2048 64" "native-copy 2048 1" \
      "view 128 64 all" "native 128 1 all" "view 2048 64 all" "native 2048 1 all"
  else
    run instructions bash bench/instructions-per-event.sh "view 128 64" "native 128 1" "copy 128 64" "native-copy 128 1"
  fi
  run instructions-perf bash bench/instructions-per-event.sh \
    "perf-view 128 64" "perf-native 128 1" "perf-copy 128 64" "perf-native-copy 128 1" \
    "perf-view 2048 64" "perf-native 2048 1" "perf-copy 2048 64" "perf-native-copy 2048 1"
  run atomics-cost node build/bench/atomics-cost.js
}

echo "== bash bench/retake.sh $*" >>"$out/machine.txt"
machine
for step in "${@:-all}"; do
  case "$step" in
    all) readme; targets; triggers; sweep; callgrind ;;
    readme | targets | triggers | sweep | callgrind) "$step" ;;
    *) echo "usage: bash bench/retake.sh [all|readme|targets|triggers|sweep|callgrind ...]" >&2; exit 2 ;;
  esac
done
machine
echo "retake: outputs in $out/ (machine.txt has the load before and after)"
