#!/usr/bin/env bash
# Soak test (not part of contrib/test.sh): MINUTES of controller-like load
# against the real server, a real Chroma and a faulty embedder; at the end
# Chroma must equal the sent state, and the server's RSS, threads and open
# file descriptors must be flat.
#
#   contrib/soak.sh [MINUTES]          (default 30)
#
# What runs (all on 127.0.0.1, free ports, killed on exit):
#   - Chroma from npm (contrib/chroma.sh), a fresh data directory
#   - cw-mock-embedder: 10 % of calls answer 500, 5 % stall 30 s (past the
#     server's 20 s embedding timeout, so they are upstream timeouts)
#   - cluster-whisperer serve (Release build in build/soak)
#   - cw-soak-client: CW_SOAK_CLIENTS controllers (default 16), each owning
#     CW_SOAK_IDS ids (default 64): upsert batches of 1..20 and single
#     deletes (25 %), retried like the controller (5xx and network errors
#     with exponential backoff, never 4xx); afterwards it reads the whole
#     collection back and compares it with the last acknowledged operation
#     of every id (present with that revision's document, or absent).
# Every CW_SOAK_SAMPLE_S seconds (default 10) the server's RSS (VmRSS),
# threads and open fds are sampled from /proc; the table is printed at the
# end. Flat means: after the warm-up (the first 10 % of the run, at least
# 20 s), the median of the last third of the samples is within the margin
# of the median of the first third — RSS +10 % + 4 MiB, threads + 8,
# fds + 8 (thread-per-connection: both move with the connections open at
# that instant, so a margin of a few is noise, a steady climb is a leak).
#
# Exit 0 when Chroma equals the sent state and everything is flat.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
minutes=${1:-30}
if ! [[ $minutes =~ ^[0-9]+$ ]] || [ "$minutes" -lt 1 ]; then
  echo "soak.sh: MINUTES must be a whole number >= 1, got '$minutes'" >&2
  exit 2
fi
clients=${CW_SOAK_CLIENTS:-16}
ids=${CW_SOAK_IDS:-64}
sample_s=${CW_SOAK_SAMPLE_S:-10}
build=${CW_SOAK_BUILD:-$top/build/soak}

cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" --target cluster-whisperer cw-mock-embedder cw-soak-client -j 2 >/dev/null

state=$(mktemp -d "${TMPDIR:-/tmp}/cw-soak.XXXXXX")
mock_pid="" server_pid="" client_pid=""
cleanup() {
  [ -n "$client_pid" ] && kill -TERM "$client_pid" 2>/dev/null || true
  [ -n "$server_pid" ] && kill -TERM "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null || true
  [ -n "$mock_pid" ] && kill -TERM "$mock_pid" 2>/dev/null && wait "$mock_pid" 2>/dev/null || true
  "$top/contrib/chroma.sh" stop "$state/chroma" >/dev/null 2>&1 || true
  if [ "${CW_SOAK_KEEP:-0}" = 1 ]; then echo "soak: logs kept in $state"; else rm -rf "$state"; fi
}
trap cleanup EXIT

"$top/contrib/chroma.sh" start "$state/chroma" >/dev/null
chroma_url=$(cat "$state/chroma/url")

"$build/cw-mock-embedder" --dim 384 --latency-ms 10 --fail-rate 10 --fail-status 500 \
    --stall-rate 5 --stall-ms 30000 --seed 42 >"$state/mock.out" 2>"$state/mock.log" &
mock_pid=$!
for _ in $(seq 1 100); do [ "$(wc -l <"$state/mock.out")" -ge 2 ] && break; sleep 0.05; done
embed_url=$(sed -n 2p "$state/mock.out")
[ -n "$embed_url" ] || { echo "soak: the mock embedder did not start" >&2; cat "$state/mock.log" >&2; exit 1; }

port=$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
collection="soak_$$"
"$build/cluster-whisperer" serve --host 127.0.0.1 --port "$port" --chroma-url "$chroma_url" \
    --collection "$collection" --embedder openai --embed-url "$embed_url" --embed-model mock \
    --workers 4 --journal "$state/journal" >"$state/server.log" 2>&1 &
server_pid=$!
# The server learns the vector size from a first embedding call before it
# listens; that call may be one of the stalls (20 s), so wait up to 60 s.
ready=0
for _ in $(seq 1 600); do
  curl -fsS -m 1 "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && { ready=1; break; }
  kill -0 "$server_pid" 2>/dev/null || { echo "soak: server exited; log:" >&2; cat "$state/server.log" >&2; exit 1; }
  sleep 0.1
done
[ "$ready" = 1 ] || { echo "soak: the server is not ready after 60 s; log:" >&2; cat "$state/server.log" >&2; exit 1; }

echo "soak: ${minutes} min, $clients clients x $ids ids, mock embedder 10 % HTTP 500 + 5 % 30 s stalls;"
echo "soak: server pid $server_pid on :$port, Chroma $chroma_url, sampling every ${sample_s} s"
"$build/cw-soak-client" --url "http://127.0.0.1:$port" --chroma-url "$chroma_url" \
    --collection "$collection" --clients "$clients" --ids "$ids" \
    --duration-s "$((minutes * 60))" >"$state/client.out" 2>"$state/client.log" &
client_pid=$!

# Sample the server while the load runs: seconds, RSS KiB, threads, fds.
start=$(date +%s)
: >"$state/samples"
while kill -0 "$client_pid" 2>/dev/null; do
  t=$(( $(date +%s) - start ))
  rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$server_pid/status" 2>/dev/null || echo 0)
  thr=$(awk '/^Threads:/ {print $2}' "/proc/$server_pid/status" 2>/dev/null || echo 0)
  fds=$(find "/proc/$server_pid/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
  echo "$t $rss $thr $fds" >>"$state/samples"
  for _ in $(seq 1 "$sample_s"); do kill -0 "$client_pid" 2>/dev/null || break; sleep 1; done
done
client_rc=0
wait "$client_pid" || client_rc=$?
client_pid=""
kill -0 "$server_pid" 2>/dev/null || { echo "soak: the server died; log tail:" >&2; tail -20 "$state/server.log" >&2; exit 1; }

echo
printf '%8s %10s %8s %6s\n' seconds rss_MiB threads fds
awk '{printf "%8d %10.1f %8d %6d\n", $1, $2 / 1024, $3, $4}' "$state/samples"
echo
cat "$state/client.out"
if [ -s "$state/client.log" ]; then
  echo "client errors (first 20):"
  head -20 "$state/client.log"
fi
echo "mock embedder: $(kill -TERM "$mock_pid" 2>/dev/null; wait "$mock_pid" 2>/dev/null; tail -1 "$state/mock.log")"
mock_pid=""
echo "server metrics:"
curl -fsS "http://127.0.0.1:$port/metrics" | grep -E '^cw_(http_requests_total|embed_calls_total|pipeline_batches_total)' | head -20 || true

# Flatness: medians of the first and last thirds after the warm-up.
warmup=$(( minutes * 60 / 10 )); [ "$warmup" -lt 20 ] && warmup=20
flat=$(awk -v warm="$warmup" '
  $1 >= warm { t[n] = $1; r[n] = $2; h[n] = $3; f[n] = $4; n++ }
  function median(a, lo, hi,   m, i, j, x, k) {
    m = 0; for (i = lo; i < hi; i++) x[m++] = a[i]
    for (i = 1; i < m; i++) { k = x[i]; for (j = i - 1; j >= 0 && x[j] > k; j--) x[j + 1] = x[j]; x[j + 1] = k }
    return m % 2 ? x[int(m / 2)] : (x[m / 2 - 1] + x[m / 2]) / 2
  }
  END {
    if (n < 6) { print "UNKNOWN too few samples after the warm-up (" n ")"; exit }
    third = int(n / 3)
    r1 = median(r, 0, third); r3 = median(r, n - third, n)
    h1 = median(h, 0, third); h3 = median(h, n - third, n)
    f1 = median(f, 0, third); f3 = median(f, n - third, n)
    ok = (r3 <= r1 * 1.10 + 4096) && (h3 <= h1 + 8) && (f3 <= f1 + 8)
    printf "%s RSS %.1f -> %.1f MiB, threads %g -> %g, fds %g -> %g (medians of the first and last third of %d samples after %d s warm-up)\n",
      ok ? "FLAT" : "GROWING", r1 / 1024, r3 / 1024, h1, h3, f1, f3, n, warm
  }' "$state/samples")
echo
echo "soak: resources: $flat"
status=0
if [ "$client_rc" -eq 0 ]; then
  echo "soak: Chroma equals the sent state"
else
  echo "soak: Chroma DIFFERS from the sent state (or a request got a 4xx); see above"
  status=1
fi
case $flat in FLAT*) ;; *) status=1 ;; esac
echo "soak: verdict $([ $status -eq 0 ] && echo PASS || echo FAIL)"
exit $status
