#!/usr/bin/env bash
# Benchmark the sync server end to end: a real Chroma (contrib/chroma.sh),
# the mock embedding server (cw-mock-embedder, optional latency), the
# `cluster-whisperer serve` binary, and cw-loadgen acting as many
# controllers. Prints one table row per scenario.
#
#   contrib/bench-server.sh [BUILD_DIR]        (default build/bench)
#
# Environment:
#   CW_BENCH_EMBED_LATENCY_MS  mock embedder latency per call (default 20)
#   CW_BENCH_DIM               vector size (default 384)
#   CW_BENCH_SCENARIOS         "clients:requests:batch[:delete_every] ..."
#                              (default "1:50:50 8:25:50 32:10:50 64:20:1 16:20:50:4")
# The build dir is configured and built (Release) on every run (incremental).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/build/bench}
latency=${CW_BENCH_EMBED_LATENCY_MS:-20}
dim=${CW_BENCH_DIM:-384}
scenarios=${CW_BENCH_SCENARIOS:-"1:50:50 8:25:50 32:10:50 64:20:1 16:20:50:4"}

# Always (re)build: incremental, and a stale binary would measure old code.
cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" --target cluster-whisperer cw-loadgen cw-mock-embedder -j "$(nproc 2>/dev/null || echo 2)" >/dev/null

state=$(mktemp -d "${TMPDIR:-/tmp}/cw-bench.XXXXXX")
mock_pid="" server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill -TERM "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null || true
  [ -n "$mock_pid" ] && kill -TERM "$mock_pid" 2>/dev/null && wait "$mock_pid" 2>/dev/null || true
  "$top/contrib/chroma.sh" stop "$state/chroma" >/dev/null 2>&1 || true
  rm -rf "$state"
}
trap cleanup EXIT

"$top/contrib/chroma.sh" start "$state/chroma" >/dev/null
chroma_url=$(cat "$state/chroma/url")

"$build/cw-mock-embedder" --dim "$dim" --latency-ms "$latency" >"$state/mock.out" 2>"$state/mock.log" &
mock_pid=$!
for _ in $(seq 1 100); do [ -s "$state/mock.out" ] && [ "$(wc -l <"$state/mock.out")" -ge 2 ] && break; sleep 0.05; done
embed_url=$(sed -n 2p "$state/mock.out")

port=$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
"$build/cluster-whisperer" serve --host 127.0.0.1 --port "$port" --chroma-url "$chroma_url" \
    --collection "bench_$$" --embedder openai --embed-url "$embed_url" --embed-model mock \
    >"$state/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 200); do
  curl -fsS -m 1 "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
  kill -0 "$server_pid" 2>/dev/null || { echo "bench: server exited; log:" >&2; cat "$state/server.log" >&2; exit 1; }
  sleep 0.05
done

echo "cluster-whisperer sync server benchmark — mock embedder ${latency} ms/call, dim ${dim}, Chroma $(basename "$chroma_url")"
printf '%-8s %-9s %-6s %-7s %8s %7s %8s %11s %8s %8s %8s %8s\n' \
  clients requests batch deletes ok failed retries instances/s req/s p50_ms p90_ms p99_ms
for sc in $scenarios; do
  IFS=: read -r c n b d <<<"$sc"
  d=${d:-0}
  line=$("$build/cw-loadgen" --url "http://127.0.0.1:$port" --clients "$c" --requests "$n" \
           --batch "$b" --delete-every "$d" | sed -n 's/^result //p') || true
  get() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" <<<"$line"; }
  printf '%-8s %-9s %-6s %-7s %8s %7s %8s %11s %8s %8s %8s %8s\n' \
    "$c" "$((c * n))" "$b" "${d/#0/-}" "$(get ok)" "$(get failed)" "$(get retries)" \
    "$(get instances_per_s)" "$(get req_per_s)" "$(get p50_ms)" "$(get p90_ms)" "$(get p99_ms)"
done
echo
echo "server metrics:"
curl -fsS "http://127.0.0.1:$port/metrics" | grep -E '^cw_(http_requests_total|pipeline_batches_total|pipeline_batch_ops_total|embed_calls_total|embed_inputs_total|embed_seconds_total|store_seconds_total)' || true
