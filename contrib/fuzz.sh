#!/usr/bin/env bash
# Fuzz for as long as asked, with clang's libFuzzer + ASan + UBSan.
#
#   contrib/fuzz.sh [TARGET] [SECONDS]
#
#   TARGET   payload   the generated payload parser (fuzz_sync_payload)
#            schemac   the schema compiler: lexer, parser, checker, emitter
#            mcp       the MCP server's JSON-RPC message handler (fuzz_mcp)
#            all       all three, one after the other (default)
#   SECONDS  how long each target runs (default 300; 0 = until Ctrl-C)
#
# Builds build/fuzz (CC=clang, -DCW_FUZZ=ON). The corpus grows in
# build/fuzz-corpus/<target>/ (out of git; the committed seeds in
# tests/fuzz/ and schema/ are read, never written). A finding is written to
# build/fuzz-crashes/<target>/ (crash-*, leak-*, timeout-*, oom-*) and the
# script exits 1 naming the files; reproduce one with
#   build/fuzz/tests/fuzz/<target> FILE
# then add it as a regression test (tests/payload, tests/schemac or tests/cli/test_cli_mcp.c).
# Environment: CW_FUZZ_JOBS=N runs N fuzzing processes per target (default 1).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
target=${1:-all}
seconds=${2:-300}
jobs=${CW_FUZZ_JOBS:-1}
build=$top/build/fuzz

case $target in
  payload|fuzz_sync_payload) targets=(fuzz_sync_payload) ;;
  schemac|fuzz_schemac)      targets=(fuzz_schemac) ;;
  mcp|fuzz_mcp)              targets=(fuzz_mcp) ;;
  all)                       targets=(fuzz_sync_payload fuzz_schemac fuzz_mcp) ;;
  -h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "fuzz.sh: unknown target '$target' (payload, schemac, mcp or all)" >&2; exit 2 ;;
esac
if ! [[ $seconds =~ ^[0-9]+$ ]]; then
  echo "fuzz.sh: SECONDS must be a whole number, got '$seconds'" >&2
  exit 2
fi
command -v clang >/dev/null || { echo "fuzz.sh: clang not found (run contrib/install-deps.sh)" >&2; exit 1; }

CC=clang cmake -S "$top" -B "$build" -DCW_FUZZ=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build "$build" --target "${targets[@]}" -j "$(nproc 2>/dev/null || echo 2)" >/dev/null

status=0
for t in "${targets[@]}"; do
  corpus=$top/build/fuzz-corpus/$t
  crashes=$top/build/fuzz-crashes/$t
  mkdir -p "$corpus" "$crashes"
  case $t in
    fuzz_sync_payload) dict=$top/tests/fuzz/sync_payload.dict; seeds=("$top/tests/fuzz/corpus"); extra=() ;;
    fuzz_schemac)      dict=$top/tests/fuzz/schemac.dict; seeds=("$top/schema" "$top/tests/fuzz/schemac_corpus")
                       extra=(-close_fd_mask=2) ;;   # the compiler's diagnostics
    fuzz_mcp)          dict=$top/tests/fuzz/mcp.dict; seeds=("$top/tests/fuzz/mcp_corpus"); extra=() ;;
  esac
  marker=$(mktemp); trap 'rm -f "$marker"' EXIT
  echo "=== $t: ${seconds}s (0 = until Ctrl-C), corpus $corpus, findings $crashes"
  args=(-max_total_time="$seconds" -timeout=10 -dict="$dict" -artifact_prefix="$crashes/"
        -print_final_stats=1 "${extra[@]}")
  if [ "$jobs" -gt 1 ]; then
    args+=(-fork="$jobs" -ignore_crashes=0)
  fi
  rc=0
  (cd "$crashes" && "$build/tests/fuzz/$t" "${args[@]}" "$corpus" "${seeds[@]}") || rc=$?
  found=$(find "$crashes" -type f -newer "$marker")
  if [ "$rc" -ne 0 ] || [ -n "$found" ]; then
    echo "=== $t: FOUND SOMETHING (exit $rc); findings:"
    printf '  %s\n' $found
    status=1
  else
    echo "=== $t: nothing found; corpus now $(find "$corpus" -type f | wc -l) inputs"
  fi
done
exit $status
