#!/usr/bin/env bash
# In-server fan-in with the embedded local model, against the standalone
# figures of contrib/bench-embed.sh: one markdown row per (clients, batch):
# instances embedded per second (from the load's start until every sent
# instance is embedded, cw_embed_inputs_total), the server's CPU seconds per
# text (utime+stime of the process), non-2xx answers, and the CPU the
# server burns while idle (ticks in 1 s, 2 s after the last answer).
#
#   contrib/bench-local.sh [--precision P] [--threads N] [--seconds S]
#                          [--clients "16 64"] [--batches "50 100"] [--build DIR]
#                          [--dump-texts FILE]
# --dump-texts: after the first cell, write 64 of the stored documents (the
# texts the server embedded) to FILE, one per line, for
# `contrib/bench-embed.sh --texts FILE` (standalone figures on the same texts).
#
# Starts Chroma (contrib/chroma.sh) and one `serve` per cell (fresh
# collection and journal), cw-loadgen for S seconds (default 8). Release
# build in build/bench unless --build. Numbers depend on the machine and
# what else runs on it: the load average is printed.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
dump="" prec=auto threads="" seconds=8 clients="16 64" batches="50 100" build="$top/build/bench"
while [ $# -gt 0 ]; do
  case $1 in
    --precision) prec=$2; shift ;;
    --threads) threads=$2; shift ;;
    --seconds) seconds=$2; shift ;;
    --clients) clients=$2; shift ;;
    --batches) batches=$2; shift ;;
    --build) build=$2; shift ;;
    --dump-texts) dump=$2; shift ;;
    *) echo "bench-local: unknown argument '$1'" >&2; exit 2 ;;
  esac
  shift
done
"$top/contrib/install-model.sh" >&2
cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j "$(nproc)" --target cluster-whisperer cw-loadgen >/dev/null
st=$(mktemp -d /tmp/cw-bench-local.XXXXXX)
pid=""
cleanup() {
  if [ -n "$pid" ]; then kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  "$top/contrib/chroma.sh" stop "$st/chroma" >/dev/null 2>&1 || true
  rm -rf "$st"
}
trap cleanup EXIT
"$top/contrib/chroma.sh" start "$st/chroma" >/dev/null
chroma_url=$(cat "$st/chroma/url")
free_port() { node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
cpu() { awk '{ print $14 + $15 }' "/proc/$pid/stat"; }
inputs() { curl -fsS -m 5 "$url/metrics" | awk '$1 == "cw_embed_inputs_total" { print $2 + 0 }'; }
echo "machine: $(nproc) cores, load average before $(cut -d' ' -f1-3 /proc/loadavg); serve --embed-precision $prec${threads:+ --embed-threads $threads}"
echo
echo "| c | B | model | instances | inst/s (embedded) | server CPU s/text | non-2xx | idle ticks/s |"
echo "|---|---|---|---|---|---|---|---|"
for c in $clients; do
  for b in $batches; do
    port=$(free_port)
    url="http://127.0.0.1:$port"
    "$build/cluster-whisperer" serve --host 127.0.0.1 --port "$port" --chroma-url "$chroma_url" \
        --collection "bl_${c}_$b" --journal "$st/j_${c}_$b" --embed-precision "$prec" \
        ${threads:+--embed-threads "$threads"} >"$st/server.log" 2>&1 &
    pid=$!
    for _ in $(seq 1 300); do curl -fsS -m 1 "$url/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
    model=$(sed -n 's/.*local model: \([^,]*\),.*/\1/p' "$st/server.log" | head -1)
    c0=$(cpu) i0=$(inputs) t0=$(date +%s.%N)
    line=$("$build/cw-loadgen" --url "$url" --clients "$c" --batch "$b" --duration "$seconds" \
             --run-id "bl${c}x$b" 2>&1 | grep '^result ' || true)
    n=$(sed -n 's/.* instances=\([0-9]*\).*/\1/p' <<<"$line")
    for _ in $(seq 1 3000); do [ "$(inputs)" -ge $((i0 + n)) ] && break; sleep 0.1; done
    t1=$(date +%s.%N) c1=$(cpu) i1=$(inputs)
    sleep 2; ia=$(cpu); sleep 1; ib=$(cpu)
    if [ -n "$dump" ]; then
      api="$chroma_url/api/v2/tenants/default_tenant/databases/default_database/collections"
      id=$(curl -fsS "$api/bl_${c}_$b" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).id))')
      curl -fsS -X POST -H 'Content-Type: application/json' -d '{"limit":64,"include":["documents"]}' "$api/$id/get" |
        node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).documents.join("\n")))' >"$dump"
      dump=""
    fi
    bad=0
    for kv in $(grep -o 'status_[0-9]*=[0-9]*' <<<"$line"); do
      k=${kv%%=*}; v=${kv#*=}; k=${k#status_}; (( k >= 300 )) && bad=$((bad + v))
    done
    bad=$((bad + $(sed -n 's/.* net_errors=\([0-9]*\).*/\1/p' <<<"$line")))
    awk -v c="$c" -v b="$b" -v m="$model" -v n=$((i1 - i0)) -v t0="$t0" -v t1="$t1" \
        -v c0="$c0" -v c1="$c1" -v bad="$bad" -v idle=$((ib - ia)) \
        'BEGIN { printf "| %s | %s | %s | %d | %.0f | %.4f | %d | %d |\n", c, b, m, n, n / (t1 - t0), (c1 - c0) / 100 / n, bad, idle }'
    kill -TERM "$pid"; wait "$pid" 2>/dev/null || true; pid=""
  done
done
echo
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
