#!/usr/bin/env bash
# Benchmark of the local embedder (all-MiniLM-L6-v2 in C): texts/s for
# batches of 1, 8 and 64 typical instance texts (~40 tokens), achieved
# GFLOP/s, model load time and peak RSS. Not a test: numbers depend on the
# machine and on what else runs on it (the load average is printed).
#
#   contrib/bench-embed.sh [--threads N] [--seconds S] [--model-dir DIR]
#
# Builds tests/local/bench_embed.c (target cw_bench_embed) in
# build/bench-embed (Release) unless CW_BENCH_BIN points at a built one;
# installs the model first if it is missing (contrib/install-model.sh).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)

model_dir=
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  if [ "${args[$i]}" = --model-dir ] && [ $((i + 1)) -lt ${#args[@]} ]; then
    model_dir=${args[$((i + 1))]}
  fi
done
if [ -z "$model_dir" ]; then
  "$top/contrib/install-model.sh"
fi

bin=${CW_BENCH_BIN:-}
if [ -z "$bin" ]; then
  dir="$top/build/bench-embed"
  cmake -S "$top" -B "$dir" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$dir" --target cw_bench_embed -j "$(nproc 2>/dev/null || echo 2)" >/dev/null
  bin="$dir/tests/local/cw_bench_embed"
fi

echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores;" \
     "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
"$bin" "$@"
echo
echo "targets (2 cores): >= 100 texts/s at batch 64, load < 1000 ms, peak RSS < 250 MB"
