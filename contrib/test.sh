#!/usr/bin/env bash
# The test command: installs what is missing, builds the normal and the
# AddressSanitizer+UBSan configurations with -Werror, and runs every ctest
# test in both. Exits non-zero on any failure.
#
#   contrib/test.sh              both configurations
#   CW_TEST_CONFIGS=normal contrib/test.sh   only one (normal|asan)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

"$top/contrib/install-deps.sh"
"$top/contrib/install-node-deps.sh"
if [ -x "$top/contrib/install-model.sh" ]; then
  "$top/contrib/install-model.sh"
fi

jobs=$(nproc 2>/dev/null || echo 2)
configs=${CW_TEST_CONFIGS:-normal asan}
status=0
for cfg in $configs; do
  case $cfg in
    normal) dir=build/test-normal; flags=(-DCW_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo) ;;
    asan)   dir=build/test-asan;   flags=(-DCW_WERROR=ON -DCW_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug) ;;
    *) echo "test.sh: unknown configuration $cfg" >&2; exit 2 ;;
  esac
  echo "=== $cfg: configure and build ($dir)"
  cmake -S "$top" -B "$dir" "${flags[@]}" >/dev/null
  cmake --build "$dir" -j "$jobs"
  echo "=== $cfg: ctest"
  if ! (cd "$dir" && ctest --output-on-failure -j "$jobs"); then
    echo "=== $cfg: FAILED"
    status=1
  fi
done
exit $status
