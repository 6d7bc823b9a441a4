#!/usr/bin/env bash
# Compiles the BPF program. The object is committed (like cilium's bpf2go);
# .ci/run rebuilds it and checks it is byte-identical to the committed one.
# Usage: bash bpf/build.sh [OUTPUT]   (default: bpf/ringbuf_bench.bpf.o)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-bpf/ringbuf_bench.bpf.o}
arch_include=/usr/include/$(gcc -dumpmachine)
# -fdebug-prefix-map keeps the checkout's path out of the BTF/DWARF, so the
# object is the same whichever folder it is built in.
exec clang -O2 -g -target bpf -Wall -Werror \
  -fdebug-prefix-map="$PWD"=. \
  -I"$arch_include" \
  -c bpf/ringbuf_bench.bpf.c -o "$out"
