#!/usr/bin/env bash
# The test command: installs what is missing, builds each configuration with
# -Werror and runs its tests. Exits non-zero on any failure.
#
#   contrib/test.sh                                  every configuration
#   CW_TEST_CONFIGS="normal asan" contrib/test.sh    a chosen few
#
# Configurations (in this order by default):
#   normal    build/test-normal, RelWithDebInfo: every ctest test
#   asan      build/test-asan, Debug + AddressSanitizer/UBSan: every ctest test
#   fuzz      build/test-fuzz, clang + libFuzzer/ASan/UBSan (-DCW_FUZZ=ON):
#             ctest label `fuzz` — fuzz_sync_payload_run (the generated
#             payload parsers, every schema type) for twice CW_FUZZ_SECONDS,
#             fuzz_schemac_run (the schema compiler) and fuzz_mcp_run (the
#             MCP message handler) for CW_FUZZ_SECONDS (default 60), two at
#             a time, the longest first (~2x CW_FUZZ_SECONDS); fails on any
#             finding, written to build/test-fuzz/fuzz-crashes/<target>/
#   valgrind  build/test-normal (the normal build): ctest label `unit` under
#             valgrind memcheck (ctest -T memcheck), failing on any invalid
#             access or definite/indirect leak; third-party suppressions in
#             contrib/valgrind.supp; logs in
#             build/test-normal/Testing/Temporary/MemoryChecker.*.log
# Longer fuzzing: contrib/fuzz.sh. Soak (not run here): contrib/soak.sh.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

"$top/contrib/install-deps.sh"
"$top/contrib/install-node-deps.sh"
if [ -x "$top/contrib/install-model.sh" ]; then
  "$top/contrib/install-model.sh"
fi

jobs=$(nproc 2>/dev/null || echo 2)
configs=${CW_TEST_CONFIGS:-normal asan fuzz valgrind}
fuzz_seconds=${CW_FUZZ_SECONDS:-60}
status=0
for cfg in $configs; do
  cc=${CC:-cc}
  targets=()
  ctest_args=(--output-on-failure -j "$jobs")
  case $cfg in
    normal) dir=build/test-normal; flags=(-DCW_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo) ;;
    asan)   dir=build/test-asan;   flags=(-DCW_WERROR=ON -DCW_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug) ;;
    fuzz)   dir=build/test-fuzz;   cc=clang
            flags=(-DCW_WERROR=ON -DCW_FUZZ=ON -DCW_FUZZ_SECONDS="$fuzz_seconds" -DCMAKE_BUILD_TYPE=Debug)
            targets=(--target fuzz_sync_payload fuzz_schemac fuzz_mcp)
            ctest_args+=(-L fuzz) ;;
    valgrind)
            dir=build/test-normal; flags=(-DCW_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo)
            # generated_fresh (a `cmake -P` script) and deploy_files (a node
            # script reading the manifests): nothing of ours to check.
            ctest_args+=(-T memcheck -L unit -E '^(generated_fresh|deploy_files)$'
              --overwrite MemoryCheckCommand="$(command -v valgrind)"
              --overwrite "MemoryCheckCommandOptions=--leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=97 --num-callers=30 --track-origins=no"
              --overwrite MemoryCheckSuppressionFile="$top/contrib/valgrind.supp")
            # OpenBLAS runs one thread anyway (the local embedder asks so):
            # no idle pool threads for valgrind's serialising scheduler. Its
            # SSE kernels instead of AVX2/FMA: valgrind emulates those ~20x
            # slower (one MiniLM pass: 16 s vs 0.75 s); same results.
            export OPENBLAS_NUM_THREADS=1 OPENBLAS_CORETYPE=Nehalem
            # fp32 only: valgrind runs no AVX-512 and oneDNN's JIT code
            # under it takes minutes; `auto` resolves to fp32 (features
            # hidden), and test_local_precision holds no oneDNN mode.
            export CW_EMBED_CPU_FEATURES=none CW_TEST_LOCAL_PRECISIONS= ;;
    *) echo "test.sh: unknown configuration $cfg (normal|asan|fuzz|valgrind)" >&2; exit 2 ;;
  esac
  echo "=== $cfg: configure and build ($dir)"
  CC=$cc cmake -S "$top" -B "$dir" "${flags[@]}" >/dev/null
  cmake --build "$dir" -j "$jobs" "${targets[@]}"
  echo "=== $cfg: ctest"
  start=$(date +%s)
  if ! (cd "$dir" && ctest "${ctest_args[@]}"); then
    echo "=== $cfg: FAILED"
    status=1
  fi
  echo "=== $cfg: $(( $(date +%s) - start )) s"
  unset OPENBLAS_NUM_THREADS OPENBLAS_CORETYPE
done
exit $status
