#!/usr/bin/env bash
# Starts and stops a real ChromaDB server (npm chromadb@3.0.3) for tests and
# the quickstart.
#
#   contrib/chroma.sh start STATE_DIR [PORT]   start on PORT (default: a free
#                                              port), wait for the heartbeat,
#                                              write STATE_DIR/{pid,port,url}
#   contrib/chroma.sh stop STATE_DIR           stop the server started there
#   contrib/chroma.sh url STATE_DIR            print its URL
#
# Data lives in STATE_DIR/data; the log in STATE_DIR/chroma.log.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

usage() { echo "usage: $0 start|stop|url STATE_DIR [PORT]" >&2; exit 2; }
[ $# -ge 2 ] || usage
cmd=$1 dir=$2

free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

case $cmd in
start)
  "$here/install-node-deps.sh"
  mkdir -p "$dir/data"
  dir=$(cd "$dir" && pwd)
  if [ -f "$dir/pid" ] && kill -0 "$(cat "$dir/pid")" 2>/dev/null; then
    echo "chroma: already running at $(cat "$dir/url")"; exit 0
  fi
  port=${3:-$(free_port)}
  cd "$dir"
  setsid "$here/npm/node_modules/.bin/chroma" run --path "$dir/data" --host 127.0.0.1 --port "$port" \
      >"$dir/chroma.log" 2>&1 < /dev/null &
  echo $! >"$dir/pid"
  echo "$port" >"$dir/port"
  echo "http://127.0.0.1:$port" >"$dir/url"
  for _ in $(seq 1 300); do
    if curl -fsS -m 1 "http://127.0.0.1:$port/api/v2/heartbeat" >/dev/null 2>&1; then
      echo "chroma: ready at http://127.0.0.1:$port (pid $(cat "$dir/pid"))"
      exit 0
    fi
    if ! kill -0 "$(cat "$dir/pid")" 2>/dev/null; then
      echo "chroma: exited during start; log follows" >&2; tail -20 "$dir/chroma.log" >&2; exit 1
    fi
    sleep 0.2
  done
  echo "chroma: no heartbeat after 60 s; log follows" >&2; tail -20 "$dir/chroma.log" >&2
  exit 1
  ;;
stop)
  [ -f "$dir/pid" ] || exit 0
  pid=$(cat "$dir/pid")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$pid" 2>/dev/null || true
  fi
  rm -f "$dir/pid"
  ;;
url)
  cat "$dir/url"
  ;;
*) usage ;;
esac
