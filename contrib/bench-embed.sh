#!/usr/bin/env bash
# Benchmark of the local embedder (all-MiniLM-L6-v2 in C): one table, a row
# per precision (fp32 on OpenBLAS, fp32, bf16 and int8 on oneDNN; each in its own
# process): texts/s (median of S one-second windows) for batches of 1, 8
# and 64 typical instance texts (~40 tokens), texts per CPU-second, GFLOP/s,
# model load time and peak RSS, then the speed-ups over the first row at batch 64.
# Not a test: numbers depend on the machine and on what else runs on it
# (the load average before and after is printed; ratios measured in one run
# are what to compare).
#
#   contrib/bench-embed.sh [--threads N] [--seconds S] [--model-dir DIR]
#                          [--precisions "fp32-openblas fp32 bf16 int8"] [--texts FILE]
# --texts: one text per line (up to 64) instead of the built-in ones, e.g. the
# documents cw-loadgen's instances become (contrib/bench-local.sh --dump-texts).
#
# Builds tests/local/bench_embed.c (target cw_bench_embed) in
# build/bench-embed (Release) unless CW_BENCH_BIN points at a built one;
# installs the model first if it is missing (contrib/install-model.sh).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)

model_dir=
precisions="fp32-openblas fp32 bf16 int8"
args=()
while [ $# -gt 0 ]; do
  case $1 in
    --precisions) [ $# -ge 2 ] || { echo "bench-embed: --precisions needs a value" >&2; exit 2; }
                  precisions=$2; shift ;;
    --model-dir)  [ $# -ge 2 ] || { echo "bench-embed: --model-dir needs a value" >&2; exit 2; }
                  model_dir=$2; args+=("$1" "$2"); shift ;;
    *) args+=("$1") ;;
  esac
  shift
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
echo
echo "| precision (implementation), threads | texts/s b=1 | b=8 | b=64 | texts/CPU-s b=64 | GFLOP/s b=64 | tokens/text | load ms | peak RSS MB |"
echo "|---|---|---|---|---|---|---|---|---|"
rows=()
for p in $precisions; do
  # fp32-openblas: fp32 with oneDNN hidden, i.e. the OpenBLAS products
  # (what fp32 was before the dense products moved to oneDNN).
  if [ "$p" = fp32-openblas ]; then
    row=$(CW_EMBED_CPU_FEATURES=none "$bin" --precision fp32 "${args[@]+"${args[@]}"}")
  else
    row=$("$bin" --precision "$p" "${args[@]+"${args[@]}"}")
  fi
  rows+=("$p|$row")
  echo "$row"
done
echo
# Speed-ups at batch 64 over the first precision (fp32 on OpenBLAS by default).
printf '%s\n' "${rows[@]}" | awk -F'|' 'NR == 1 { base = $6; cbase = $7; name = $1 }
  { printf "%s: %.2fx %s texts/s at batch 64, %.2fx texts per CPU-second\n", $1, $6 / base, name, $7 / cbase }'
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "targets (2 cores): bf16 >= 2x and int8 >= 3x fp32 (OpenBLAS) at batch 64; load < 1000 ms, peak RSS < 250 MB"
