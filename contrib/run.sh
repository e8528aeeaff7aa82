#!/usr/bin/env bash
# The run command: installs what is missing, builds, starts a local Chroma
# (unless CHROMA_URL is set) and serves on :3000 (PORT to change).
#
# Embedder: the local all-MiniLM-L6-v2 model by default; with VOYAGE_API_KEY
# set it uses Voyage, with OPENAI_API_KEY set an OpenAI-compatible API.
# Extra arguments go to `cluster-whisperer serve` (see --help).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

"$top/contrib/install-deps.sh"
"$top/contrib/install-node-deps.sh"
"$top/contrib/install-model.sh"

cmake -S "$top" -B build/release -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/release -j "$(nproc 2>/dev/null || echo 2)" --target cluster-whisperer

state="$top/.cache/chroma"
started=0
server=""
cleanup() {
  if [ -n "$server" ] && kill -0 "$server" 2>/dev/null; then
    kill -TERM "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
  fi
  if [ "$started" = 1 ]; then "$top/contrib/chroma.sh" stop "$state"; fi
}
trap cleanup EXIT
trap 'exit 0' INT TERM

if [ -z "${CHROMA_URL:-}" ]; then
  "$top/contrib/chroma.sh" start "$state" "${CHROMA_PORT:-8000}"
  started=1
  CHROMA_URL=$(cat "$state/url")
  export CHROMA_URL
fi

echo "run: serving on :${PORT:-3000} (Ctrl-C to stop); try: curl localhost:${PORT:-3000}/readyz"
# The journal (accepted requests not yet in Chroma) lives beside Chroma's data.
"$top/build/release/cluster-whisperer" serve --journal "${CW_JOURNAL:-$top/.cache/journal}" "$@" &
server=$!
wait "$server" || true
