#!/usr/bin/env bash
# The sync server's benchmark: one table, printed on stdout (markdown).
#
# Starts a real Chroma (contrib/chroma.sh), the mock embedding server
# (cw-mock-embedder) at 0 ms and at 50 ms per call, and `cluster-whisperer
# serve` (Release build in build/bench), then measures:
#   - healthz req/s at c=1 and c=64, keep-alive (wrk);
#   - the Chroma ceiling: cw-loadgen's batches of B=1/50/100 upserted straight
#     into Chroma from one writer (cw-chroma-ceiling: the project's Chroma
#     client, the mock's vectors);
#   - fan-in (cw-loadgen: a new connection per request, the controller's
#     retries) at c=1/8/64 x B=1/50/100 x mock 0/50 ms: req/s, instances/s,
#     p50/p99/max, embedding calls per instance (the server's /metrics), the
#     share of the Chroma ceiling for the same B, the server's peak RSS
#     (VmHWM) and peak thread count;
#   - deletes-only at c=64 (one id per request, ids that exist);
#   - an initial sync of 5,000 instances in batches of 50, first time and
#     re-sent unchanged (with the re-send's embedding calls);
#   - the generated parse+validate MB/s on a 1000-instance payload;
#   - 64 controllers x 100-instance batches with the embedded local model
#     and the journal: answers by status, the journal's backlog peak, the
#     time until Chroma holds every instance sent.
# Each scenario gets a fresh server and a fresh collection (deleted after).
#
#   contrib/bench.sh [--quick] [--seconds S] [--build DIR]
#     --quick      about 2 minutes: 3 s per scenario, sync of 1,000, fewer cells
#     --seconds S  seconds per fan-in scenario (default 6)
#     --build DIR  build directory (default build/bench, Release)
# Environment (each overrides the default or --quick):
#   CW_BENCH_SECONDS      seconds per fan-in / deletes / ceiling / wrk run
#   CW_BENCH_CLIENTS      fan-in client counts          (default "1 8 64")
#   CW_BENCH_BATCHES      fan-in batch sizes            (default "1 50 100")
#   CW_BENCH_LATENCIES    mock embedder ms per call     (default "0 50")
#   CW_BENCH_SYNC         initial-sync instances        (default 5000)
#   CW_BENCH_DIM          vector size                   (default 384)
#   CW_BENCH_LOCAL_CLIENTS clients of the local-model fan-in (default 64)
#   CW_BENCH_SERVER_ARGS  extra `serve` flags (e.g. "--workers 4 --batch-max 128")
#   CW_BENCH_CELLS        "all" (default) or "fanin-ceiling": only the issue-19
#                         cell (Chroma's 100-doc ceiling, then 64 clients x 100-
#                         and 1-instance batches through the server, 1024-d mock,
#                         server/Chroma/mock CPU ms per instance); with "all" it
#                         runs first and prints a table of its own
#   CW_BENCH_FANIN_DIM / _CLIENTS / _BATCHES   that cell's vector size (1024),
#                         clients (64) and batch sizes ("100 1")
# Progress goes to stderr; server logs and each server's last /metrics stay
# in BUILD/bench-state/ (Chroma's data is removed at exit); the table is also written to BUILD/bench-table.md.
# Numbers depend on the machine and what else runs on it: the load average
# is printed with them.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cmdline="contrib/bench.sh${*:+ $*}"

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; }
quick=0 seconds="" build="$top/build/bench"
while [ $# -gt 0 ]; do
  case $1 in
    --quick) quick=1 ;;
    --seconds) [ $# -ge 2 ] || { echo "bench: --seconds needs a value" >&2; exit 2; }; seconds=$2; shift ;;
    --build) [ $# -ge 2 ] || { echo "bench: --build needs a directory" >&2; exit 2; }; build=$2; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "bench: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done
if [ $quick = 1 ]; then
  d_seconds=3 d_clients="1 64" d_batches="1 50" d_sync=1000
else
  d_seconds=6 d_clients="1 8 64" d_batches="1 50 100" d_sync=5000
fi
seconds=${CW_BENCH_SECONDS:-${seconds:-$d_seconds}}
clients=${CW_BENCH_CLIENTS:-$d_clients}
batches=${CW_BENCH_BATCHES:-$d_batches}
latencies=${CW_BENCH_LATENCIES:-"0 50"}
sync_n=${CW_BENCH_SYNC:-$d_sync}
dim=${CW_BENCH_DIM:-384}
server_args=${CW_BENCH_SERVER_ARGS:-}
cells=${CW_BENCH_CELLS:-all}
[[ $cells == all || $cells == fanin-ceiling ]] || { echo "bench: CW_BENCH_CELLS must be all or fanin-ceiling, got '$cells'" >&2; exit 2; }
[[ $seconds =~ ^[0-9]+$ && $seconds -ge 1 ]] || { echo "bench: seconds must be a whole number >= 1, got '$seconds'" >&2; exit 2; }
env_used=$(env | grep -E '^CW_BENCH_' | sort | tr '\n' ' ' || true)

say() { echo "bench: $*" >&2; }
load_start=$(cut -d' ' -f1-3 /proc/loadavg)

# --- dependencies and build ---------------------------------------------------
"$top/contrib/install-deps.sh" >&2
"$top/contrib/install-node-deps.sh" >&2
local_model=1
"$top/contrib/install-model.sh" >&2 || local_model=0
say "building (Release) in $build"
cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j "$(nproc 2>/dev/null || echo 2)" \
      --target cluster-whisperer cw-loadgen cw-mock-embedder cw-chroma-ceiling cw-parse-bench >/dev/null

state="$build/bench-state"
rm -rf "$state"
mkdir -p "$state"
server_pid="" sampler_pid="" mock_pids=() fanin_mock_pid=""
cleanup() {
  [ -n "$sampler_pid" ] && kill "$sampler_pid" 2>/dev/null || true
  if [ -n "$server_pid" ]; then kill -TERM "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  for p in "${mock_pids[@]+"${mock_pids[@]}"}" $fanin_mock_pid; do kill -TERM "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  "$top/contrib/chroma.sh" stop "$state/chroma" >/dev/null 2>&1 || true
  rm -rf "$state/chroma/data"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}
# The value of key $1 in a `result k=v ...` line $2.
kv() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" <<<"$2"; }

# --- Chroma and the mock embedders ---------------------------------------------
say "starting Chroma"
"$top/contrib/chroma.sh" start "$state/chroma" >&2
chroma_url=$(cat "$state/chroma/url")
declare -A mock_url
for lat in $latencies; do
  "$build/cw-mock-embedder" --dim "$dim" --latency-ms "$lat" >"$state/mock-$lat.out" 2>"$state/mock-$lat.log" &
  mock_pids+=($!)
  for _ in $(seq 1 100); do [ "$(wc -l <"$state/mock-$lat.out")" -ge 2 ] && break; sleep 0.05; done
  mock_url[$lat]=$(sed -n 2p "$state/mock-$lat.out")
  [ -n "${mock_url[$lat]}" ] || { say "the mock embedder did not start; log:"; cat "$state/mock-$lat.log" >&2; exit 1; }
done
first_lat=${latencies%% *}

# --- one server per scenario ----------------------------------------------------
# server_start NAME LATENCY: a fresh collection bench_NAME; sets server_url.
peak_threads_file=""
# LATENCY "local": the embedded MiniLM model (serve's defaults), no mock.
server_start() {
  local name=$1 lat=$2 port embed_args
  server_lat=$lat server_name=$name
  starts[$lat]=$(( ${starts[$lat]:-0} + 1 ))
  port=$(free_port)
  coll="bench_${name}"
  if [ "$lat" = local ]; then embed_args=()
  else embed_args=(--embedder openai --embed-url "${mock_url[$lat]}" --embed-model mock); fi
  # shellcheck disable=SC2086
  "$build/cluster-whisperer" serve --host 127.0.0.1 --port "$port" --chroma-url "$chroma_url" \
      --collection "$coll" "${embed_args[@]}" --journal "$state/journal-$name" \
      $server_args >"$state/server-$name.log" 2>&1 &
  server_pid=$!
  server_url="http://127.0.0.1:$port"
  for _ in $(seq 1 600); do
    curl -fsS -m 1 "$server_url/readyz" >/dev/null 2>&1 && break
    kill -0 "$server_pid" 2>/dev/null || { say "the server exited; log:"; cat "$state/server-$name.log" >&2; exit 1; }
    sleep 0.05
  done
  curl -fsS -m 1 "$server_url/readyz" >/dev/null || { say "the server is not ready after 30 s"; exit 1; }
  peak_threads_file="$state/threads-$name"
  echo 0 >"$peak_threads_file"
  ( max=0
    while kill -0 "$server_pid" 2>/dev/null; do
      { while read -r k v _; do
          if [ "$k" = Threads: ]; then
            [ "$v" -gt "$max" ] && { max=$v; echo "$max" >"$peak_threads_file"; }
            break
          fi
        done </proc/"$server_pid"/status; } 2>/dev/null || true
      sleep 0.1
    done ) &
  sampler_pid=$!
  # The start-up dimension probe is an embedding call too: count from here.
  calls_base=$(metric "$calls_metric")
}
# Embedding calls since the server was ready (empty without the metric).
calls_since_start() {
  local v
  v=$(metric "$calls_metric")
  [ -n "$v" ] && [ -n "$calls_base" ] && echo $(( v - calls_base ))
  return 0
}
# The server's counter $1 from /metrics; "" when it is not there (a renamed
# metric must not read as 0 calls).
metric() {
  curl -fsS -m 5 "$server_url/metrics" 2>/dev/null | awk -v m="$1" '$1 == m { v = $2; seen = 1 } END { if (seen) print v + 0 }'
}
calls_metric=${CW_BENCH_EMBED_CALLS_METRIC:-cw_embed_calls_total}
declare -A calls_sum starts
# Embedding calls per instance: "-" without instances, "n/a" without the metric.
per_instance() {
  if [ -z "$1" ]; then echo "n/a"; else awk -v a="$1" -v n="$2" 'BEGIN { if (n > 0) printf "%.3f", a / n; else print "-" }'; fi
}
add_calls() { [ -n "$2" ] && calls_sum[$1]=$(( ${calls_sum[$1]:-0} + $2 )); return 0; }
# server_stop: sets rss_mb and threads, stops the server, drops the collection.
server_stop() {
  curl -fsS -m 5 "$server_url/metrics" >"$state/metrics-$server_name.txt" 2>/dev/null || true
  add_calls "$server_lat" "$(metric "$calls_metric")"
  rss_mb=$(awk '/^VmHWM:/ { printf "%.0f", $2 / 1024 }' /proc/"$server_pid"/status 2>/dev/null || true)
  rss_mb=${rss_mb:-0}
  kill "$sampler_pid" 2>/dev/null || true
  wait "$sampler_pid" 2>/dev/null || true
  sampler_pid=""
  threads=$(cat "$peak_threads_file" 2>/dev/null || true)
  threads=${threads:-0}
  kill -TERM "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
  curl -fsS -m 30 -X DELETE \
    "$chroma_url/api/v2/tenants/default_tenant/databases/default_database/collections/$coll" >/dev/null 2>&1 || true
  (( rss_mb > peak_rss )) && peak_rss=$rss_mb
  (( threads > peak_thr )) && peak_thr=$threads
  return 0
}
peak_rss=0 peak_thr=0

rows=()
# row SCENARIO EMBED_MS C B REQ/S INST/S P50 P99 MAX CALLS/INST %CEIL ERRORS RSS THREADS NOTE
row() {
  local IFS='|'
  rows+=("| $(sed 's/|/ | /g' <<<"$*") |")
}
# Non-2xx answers and network errors / retries, from a result line.
errors_of() {
  local line=$1 bad=0 k v
  for kv_ in $(grep -o 'status_[0-9]*=[0-9]*' <<<"$line"); do
    k=${kv_%%=*}; v=${kv_#*=}; k=${k#status_}
    (( k >= 300 )) && bad=$((bad + v))
  done
  echo "$((bad + $(kv net_errors "$line")))/$(kv retries "$line")"
}

# --- 0. fan-in at Chroma's ceiling (issue 19), one run -------------------------------
# Chroma's direct-upsert ceiling first (100 docs per request, one writer,
# a fresh collection), then 64 controllers x 100-instance and x 1-instance
# batches through the server, with a 1024-d mock embedder at 0 ms (its own
# mock, so the main table's vectors keep their size). Per cell: instances/s
# stored in Chroma (from the load's start until the journal is empty: a
# 202 answers before the write) and the ratio to that ceiling, p50/p99 of
# the answers, non-2xx, 202s, and CPU ms per
# instance of the server, Chroma and the mock (utime+stime from
# /proc/PID/stat, from the load's start until the journal is empty).
# Rows go to a table of their own (BUILD/bench-fanin-ceiling.md).
cpu_ticks() { sed 's/^.*) //' /proc/"$1"/stat 2>/dev/null | awk '{ print $12 + $13 }'; }
clk_tck=$(getconf CLK_TCK)
fc_rows=()
fc_row() { local IFS='|'; fc_rows+=("| $(sed 's/|/ | /g' <<<"$*") |"); }
fanin_ceiling_cell() {
  local fdim=${CW_BENCH_FANIN_DIM:-1024} fc=${CW_BENCH_FANIN_CLIENTS:-64} fb=${CW_BENCH_FANIN_BATCHES:-"100 1"}
  local chroma_pid fmock_pid fmock_url line ceil b name c0 s0 m0 c1 s1 m1 inst n202 bl
  chroma_pid=$(cat "$state/chroma/pid")
  "$build/cw-mock-embedder" --dim "$fdim" --latency-ms 0 >"$state/mock-fanin.out" 2>"$state/mock-fanin.log" &
  fmock_pid=$!
  fanin_mock_pid=$fmock_pid
  for _ in $(seq 1 100); do [ "$(wc -l <"$state/mock-fanin.out")" -ge 2 ] && break; sleep 0.05; done
  fmock_url=$(sed -n 2p "$state/mock-fanin.out")
  [ -n "$fmock_url" ] || { say "the ${fdim}-d mock embedder did not start"; exit 1; }
  mock_url[fanin]=$fmock_url
  say "fan-in at the ceiling: Chroma ceiling, batches of 100, ${fdim}-d (${seconds} s)"
  c0=$(cpu_ticks "$chroma_pid")
  line=$("$build/cw-chroma-ceiling" --chroma-url "$chroma_url" --collection bench_fc_ceiling \
           --batch 100 --instances 1000000 --duration "$seconds" --dim "$fdim" | grep '^result ') \
    || { say "cw-chroma-ceiling failed"; exit 1; }
  c1=$(cpu_ticks "$chroma_pid")
  ceil=$(kv docs_per_s "$line")
  fc_row "Chroma ceiling (one writer, 100 docs/upsert)" 1 100 "${ceil%.*}" 1.00 - - - - - - \
      "$(awk -v t=$((c1 - c0)) -v n="$(kv instances "$line")" -v hz="$clk_tck" 'BEGIN { printf "%.3f", 1000 * t / hz / n }')" - \
      "$(kv instances "$line") docs"
  for b in $fb; do
    name="fc_${fc}_${b}"
    say "fan-in at the ceiling: c=$fc, B=$b, ${fdim}-d, ${seconds} s"
    server_start "$name" fanin
    s0=$(cpu_ticks "$server_pid"); c0=$(cpu_ticks "$chroma_pid"); m0=$(cpu_ticks "$fmock_pid")
    t0=$(date +%s.%N)
    line=$("$build/cw-loadgen" --url "$server_url" --clients "$fc" --batch "$b" --duration "$seconds" \
             --run-id "fc${fc}b${b}" 2>&1 | grep '^result ' || true)
    [ -n "$line" ] || { say "cw-loadgen printed no result"; exit 1; }
    # CPU until everything answered 202 is applied too.
    for _ in $(seq 1 600); do
      bl=$(metric cw_journal_backlog_operations); [ "${bl:-0}" = 0 ] && break; sleep 0.1
    done
    t1=$(date +%s.%N)
    s1=$(cpu_ticks "$server_pid"); c1=$(cpu_ticks "$chroma_pid"); m1=$(cpu_ticks "$fmock_pid")
    inst=$(kv instances "$line")
    n202=$(sed -n 's/.*status_202=\([0-9]*\).*/\1/p' <<<"$line")
    server_stop
    per() { awk -v t="$1" -v n="$inst" -v hz="$clk_tck" 'BEGIN { if (n > 0) printf "%.3f", 1000 * t / hz / n; else print "-" }'; }
    # Committed, not answered: a 202 is an answer before the write.
    rate=$(awk -v n="$inst" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", n / (b - a) }')
    fc_row "fan-in through the server" "$fc" "$b" "$rate" \
        "$(awk -v x="$rate" -v y="$ceil" 'BEGIN { if (y > 0) printf "%.2f", x / y; else print "-" }')" \
        "$(kv p50_ms "$line")" "$(kv p99_ms "$line")" \
        "$(awk -v a="$(kv p50_ms "$line")" -v z="$(kv p99_ms "$line")" 'BEGIN { if (a > 0) printf "%.2f", z / a; else print "-" }')" \
        "$(errors_of "$line")" "${n202:-0}" "$(per $((s1 - s0)))" "$(per $((c1 - c0)))" "$(per $((m1 - m0)))" \
        "$inst instances answered in $(kv seconds "$line") s ($(kv instances_per_s "$line")/s), all in Chroma after $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s"
  done
  {
    echo "command: $cmdline${env_used:+   (env: ${env_used% })}"
    echo "machine: $(nproc) cores, load average at start ${load_start}, now $(cut -d' ' -f1-3 /proc/loadavg); $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "setup: mock embedder ${fdim}-d at 0 ms, one new connection per request, ${seconds} s per cell${server_args:+, serve $server_args}"
    echo
    echo "| fan-in at Chroma's ceiling | c | B | inst/s stored | x ceiling | p50 ms | p99 ms | p99/p50 | non-2xx/retries | 202s | server CPU ms/inst | Chroma CPU ms/inst | mock CPU ms/inst | note |"
    echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    printf '%s\n' "${fc_rows[@]}"
  } | tee "$build/bench-fanin-ceiling.md"
}
fanin_ceiling_cell
[ "$cells" = fanin-ceiling ] && exit 0

# --- 1. healthz, keep-alive ------------------------------------------------------
if command -v wrk >/dev/null; then
  say "healthz with wrk (c=1, c=64, ${seconds} s each)"
  server_start healthz "$first_lat"
  h1=$(wrk -t1 -c1 -d"${seconds}s" "$server_url/healthz" | awk '/^Requests\/sec:/ { print $2 }')
  h64=$(wrk -t2 -c64 -d"${seconds}s" "$server_url/healthz" | awk '/^Requests\/sec:/ { print $2 }')
  server_stop
  row "healthz, keep-alive (wrk)" - 1 - "${h1%.*}" - - - - - - - "$rss_mb" "$threads" "wrk -t1 -c1"
  row "healthz, keep-alive (wrk)" - 64 - "${h64%.*}" - - - - - - - "$rss_mb" "$threads" "wrk -t2 -c64"
else
  row "healthz, keep-alive (wrk)" - "1, 64" - "n/a" - - - - - - - - - "wrk is not installed"
fi

# --- 2-3. per batch size: the Chroma ceiling (one writer, the same batches),
# then the fan-in cells compared with it, measured close together in time ---
declare -A ceiling
for b in $batches; do
  say "Chroma ceiling, batches of $b (${seconds} s of upserts)"
  line=$("$build/cw-chroma-ceiling" --chroma-url "$chroma_url" --collection "bench_ceiling_$b" \
           --batch "$b" --instances 1000000 --duration "$seconds" --dim "$dim" | grep '^result ') \
    || { say "cw-chroma-ceiling failed"; exit 1; }
  ceiling[$b]=$(kv docs_per_s "$line")
  row "Chroma ceiling (one writer, upsert only)" - 1 "$b" \
      "$(awk -v d="$(kv calls "$line")" -v s="$(kv seconds "$line")" 'BEGIN { printf "%.0f", d / s }')" \
      "${ceiling[$b]%.*}" - - - - 100 - - - "cw-chroma-ceiling, $(kv instances "$line") docs"
  for lat in $latencies; do
    for c in $clients; do
      name="fanin_${lat}_${c}_${b}"
      say "fan-in: mock ${lat} ms, c=$c, B=$b, ${seconds} s"
      server_start "$name" "$lat"
      line=$("$build/cw-loadgen" --url "$server_url" --clients "$c" --batch "$b" --duration "$seconds" \
               --run-id "f${lat}c${c}b${b}" 2>&1 | grep '^result ' || true)
      [ -n "$line" ] || { say "cw-loadgen printed no result"; exit 1; }
      calls=$(calls_since_start)
      inst=$(kv instances "$line")
      deletes_line=""
      if [ "$b" = 1 ] && [ "$c" = "${clients##* }" ] && [ "$lat" = "$first_lat" ]; then
        say "deletes-only: mock ${lat} ms, c=$c, ${seconds} s (ids the fan-in stored)"
        deletes_line=$("$build/cw-loadgen" --url "$server_url" --mode deletes --clients "$c" \
                         --duration "$seconds" --run-id "f${lat}c${c}b${b}" 2>&1 | grep '^result ' || true)
      fi
      server_stop
      row "fan-in" "$lat" "$c" "$b" "$(kv req_per_s "$line")" "$(kv instances_per_s "$line")" \
          "$(kv p50_ms "$line")" "$(kv p99_ms "$line")" "$(kv max_ms "$line")" \
          "$(per_instance "$calls" "$inst")" \
          "$(awk -v x="$(kv instances_per_s "$line")" -v y="${ceiling[$b]:-0}" 'BEGIN { if (y > 0) printf "%.0f", 100 * x / y; else print "-" }')" \
          "$(errors_of "$line")" "$rss_mb" "$threads" "$inst instances in $(kv seconds "$line") s"
      if [ -n "$deletes_line" ]; then
        row "deletes only (1 id/request)" "$lat" "$c" 1 "$(kv req_per_s "$deletes_line")" "$(kv instances_per_s "$deletes_line")" \
            "$(kv p50_ms "$deletes_line")" "$(kv p99_ms "$deletes_line")" "$(kv max_ms "$deletes_line")" \
            - - "$(errors_of "$deletes_line")" "$rss_mb" "$threads" "same server as the row above"
      fi
    done
  done
done

# --- 4. initial sync, first time and re-sent unchanged ------------------------------
for lat in $latencies; do
  name="sync_${lat}"
  say "initial sync of $sync_n: mock ${lat} ms, first time and re-sent unchanged"
  server_start "$name" "$lat"
  first=$("$build/cw-loadgen" --url "$server_url" --mode initial-sync --instances "$sync_n" \
            --run-id "sync${lat}" 2>&1 | grep '^result ' || true)
  calls1=$(calls_since_start)
  again=$("$build/cw-loadgen" --url "$server_url" --mode initial-sync --instances "$sync_n" \
            --run-id "sync${lat}" 2>&1 | grep '^result ' || true)
  calls2=$(calls_since_start)
  server_stop
  for which in first again; do
    line=${!which}
    if [ $which = first ]; then label="initial sync, first time"; ncalls=$calls1
    else label="initial sync, re-sent unchanged"; ncalls=${calls2:+$((calls2 - calls1))}; fi
    row "$label" "$lat" 1 50 "$(kv req_per_s "$line")" "$(kv instances_per_s "$line")" \
        "$(kv p50_ms "$line")" "$(kv p99_ms "$line")" "$(kv max_ms "$line")" \
        "$(per_instance "$ncalls" "$(kv instances "$line")")" \
        - "$(errors_of "$line")" "$rss_mb" "$threads" \
        "**$(kv instances "$line") in $(kv seconds "$line") s**, ${ncalls:-n/a} embedding calls"
  done
done

# --- 5. parse + validate -------------------------------------------------------------
say "generated parse+validate on a 1000-instance payload"
pline=$("$build/cw-parse-bench" --instances 1000 | grep '^result ')
row "parse+validate, 1000-instance payload" - - 1000 - - - - - - - - - - \
    "**$(kv parse_mb_per_s "$pline") MB/s** (json-c strict tokenizer alone: $(kv tokener_mb_per_s "$pline") MB/s; $(kv bytes "$pline") bytes, best of 7)"

# --- 6. many controllers with the default local embedder (issue 10) ----------------
# 64 controller-like clients x 100-instance batches against the embedded
# MiniLM: every answer should be 2xx (202 once the backlog outgrows the ack
# wait), and the journal drains at the embedder's rate after the load stops.
if [ "$local_model" = 1 ]; then
  lc=${CW_BENCH_LOCAL_CLIENTS:-64}
  name="local_${lc}_100"
  say "fan-in with the local model: c=$lc, B=100, ${seconds} s, then until Chroma holds everything"
  server_start "$name" local
  ( peak=0
    while kill -0 "$server_pid" 2>/dev/null; do
      v=$(metric cw_journal_backlog_operations); v=${v:-0}
      (( v > peak )) && { peak=$v; echo "$peak" >"$state/backlog-peak"; }
      sleep 0.5
    done ) &
  backlog_pid=$!
  echo 0 >"$state/backlog-peak"
  t0=$(date +%s.%N)
  line=$("$build/cw-loadgen" --url "$server_url" --clients "$lc" --batch 100 --duration "$seconds" \
           --run-id "local${lc}" 2>&1 | grep '^result ' || true)
  [ -n "$line" ] || { say "cw-loadgen printed no result"; exit 1; }
  t_load=$(date +%s.%N)
  inst=$(kv instances "$line")
  coll_id=$(curl -fsS -m 10 "$chroma_url/api/v2/tenants/default_tenant/databases/default_database/collections/$coll" \
              | sed -n 's/.*"id":"\([^"]*\)".*/\1/p')
  held=0 drained=""
  for _ in $(seq 1 1200); do
    held=$(curl -fsS -m 10 "$chroma_url/api/v2/tenants/default_tenant/databases/default_database/collections/$coll_id/count" 2>/dev/null || echo 0)
    [ "$held" -ge "$inst" ] 2>/dev/null && { drained=$(date +%s.%N); break; }
    sleep 0.5
  done
  calls=$(calls_since_start)
  kill "$backlog_pid" 2>/dev/null || true; wait "$backlog_pid" 2>/dev/null || true
  server_stop
  drain_s=$(awk -v a="$t_load" -v b="${drained:-0}" 'BEGIN { if (b > 0) printf "%.1f", b - a; else print "n/a" }')
  total_s=$(awk -v a="$t0" -v b="${drained:-0}" 'BEGIN { if (b > 0) printf "%.1f", b - a; else print "n/a" }')
  rate=$(awk -v n="$inst" -v a="$t0" -v b="${drained:-0}" 'BEGIN { if (b > a) printf "%.0f", n / (b - a); else print "-" }')
  codes=$(grep -o 'status_[0-9]*=[0-9]*' <<<"$line" | sed 's/status_//' | tr '\n' ' ')
  row "fan-in, local model, journal" local "$lc" 100 "$(kv req_per_s "$line")" "$rate" \
      "$(kv p50_ms "$line")" "$(kv p99_ms "$line")" "$(kv max_ms "$line")" \
      "$(per_instance "$calls" "$inst")" - "$(errors_of "$line")" "$rss_mb" "$threads" \
      "answers ${codes% }; **Chroma held all $inst after ${total_s} s** (${drain_s} s after the load stopped; $held counted); backlog peak $(cat "$state/backlog-peak") ops; inst/s = stored / total time"
else
  row "fan-in, local model, journal" local 64 100 - - - - - - - - - - "the model is not installed (contrib/install-model.sh)"
fi

# --- cross-check: the mocks' own call counters against the server's /metrics ---
check=""
i=0
for lat in $latencies; do
  kill -TERM "${mock_pids[$i]}" 2>/dev/null || true
  wait "${mock_pids[$i]}" 2>/dev/null || true
  mock_calls=$(sed -n 's/.*calls=\([0-9]*\).*/\1/p' "$state/mock-$lat.log")
  # The server's counter includes each start-up dimension probe, as the mock's does.
  verdict="MISMATCH"
  [ -n "${calls_sum[$lat]:-}" ] && [ "${mock_calls:-x}" = "${calls_sum[$lat]}" ] && verdict="ok"
  check+="mock ${lat} ms counted ${mock_calls:-?} calls, ${calls_metric} summed over ${starts[$lat]:-0} servers ${calls_sum[$lat]:-n/a}: ${verdict}; "
  i=$((i + 1))
done
mock_pids=()

# --- the table ---------------------------------------------------------------------
{
  echo "command: $cmdline${env_used:+   (env: ${env_used% })}"
  echo "machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), load average at start ${load_start}, at end $(cut -d' ' -f1-3 /proc/loadavg); $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "setup: Chroma $(node -p 'require(process.argv[1]).version' "$top/contrib/npm/node_modules/chromadb/package.json" 2>/dev/null || echo '?') (npm), mock embedder ${dim}-d, one new connection per request, ${seconds} s per fan-in cell${server_args:+, serve $server_args}"
  echo
  echo "| scenario | embed ms | c | B | req/s | inst/s | p50 ms | p99 ms | max ms | embed calls/inst | % of Chroma ceiling | non-2xx/retries | RSS MB | threads | note |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
  echo "| server peak over all scenarios | | | | | | | | | | | | $peak_rss | $peak_thr | VmHWM, Threads |"
  echo
  echo "embedding calls cross-check: ${check%; }"
} | tee "$build/bench-table.md"
