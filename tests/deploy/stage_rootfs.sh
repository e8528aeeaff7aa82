#!/usr/bin/env bash
# deploy_rootfs — the runtime filesystem contrib/docker/Dockerfile builds,
# made here without a container runtime (this machine cannot pull images):
# the same install steps (`cmake --install --prefix /usr/local --strip`,
# `contrib/install-model.sh` into the image's model directory) into a
# scratch root, then its `cw-serve` run as the image runs it — uid 10001,
# CW_MODEL_DIR and CW_JOURNAL as the Dockerfile sets them, the embedded
# model, the admin port of its CMD — against the real Chroma:
# --version, /healthz, /readyz, a sync embedded by the staged model and
# found by the search API, then SIGTERM and exit 0 within the grace period.
#
#   stage_rootfs.sh SOURCE_DIR BUILD_DIR   (CW_TEST_CHROMA_URL_FILE set by ctest)
set -euo pipefail
top=$1 build=$2
chroma=$(cat "$CW_TEST_CHROMA_URL_FILE")
root=$(mktemp -d /tmp/cw-rootfs.XXXXXX)
pid=
cleanup() { [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; rm -rf "$root"; }
trap cleanup EXIT
fail() { echo "deploy_rootfs: FAILED: $*" >&2; [ -f "$root/serve.log" ] && tail -20 "$root/serve.log" >&2; exit 1; }
chmod 755 "$root"

# What the Dockerfile's ENV lines say, read from it (one source).
dockerfile=$top/contrib/docker/Dockerfile
model_dir=$(sed -n 's/.*CW_MODEL_DIR=\([^ ]*\).*/\1/p' "$dockerfile")
journal=$(sed -n 's/.*CW_JOURNAL=\([^ ]*\).*/\1/p' "$dockerfile")
uid=$(sed -n 's/^USER \([0-9]*\).*/\1/p' "$dockerfile")
[ -n "$model_dir" ] && [ -n "$journal" ] && [ -n "$uid" ] || fail "CW_MODEL_DIR, CW_JOURNAL or USER not found in $dockerfile"

cmake --install "$build" --prefix "$root/usr/local" --strip >/dev/null
[ "$(readlink "$root/usr/local/bin/cw-serve")" = cluster-whisperer ] || fail "no cw-serve link in the staged /usr/local/bin"
"$top/contrib/install-model.sh" "$root$model_dir" >/dev/null
mkdir -p "$root$(dirname "$journal")"
chown -R "$uid:$uid" "$root$(dirname "$journal")"
ldd "$root/usr/local/bin/cluster-whisperer" | grep -q "not found" && fail "a library the binary needs is not found"

# As root (CI), run as the image's uid; setpriv execs, so $! is the server.
as_uid=()
[ "$(id -u)" -ne 0 ] || as_uid=(setpriv --reuid="$uid" --regid="$uid" --clear-groups --)
[ "$("${as_uid[@]}" "$root/usr/local/bin/cw-serve" --version)" = "cluster-whisperer 0.1.0" ] || fail "--version"

port=$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
admin=$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
collection=t_rootfs_$$
cd "$root$(dirname "$journal")"
"${as_uid[@]}" env -i PATH="$root/usr/local/bin:/usr/bin:/bin" CW_MODEL_DIR="$root$model_dir" CW_JOURNAL="$root$journal" \
  CHROMA_URL="$chroma" PORT="$port" \
  cw-serve --admin-port "$admin" --host 127.0.0.1 --collection "$collection" --embedder local \
  >"$root/serve.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do
  curl -fsS -m 1 "http://127.0.0.1:$admin/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done
[ "$(curl -sS -m 2 "http://127.0.0.1:$admin/healthz")" = '{"status":"ok"}' ] || fail "/healthz on the admin port"
[ "$(curl -sS -m 2 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$admin/readyz")" = 200 ] || fail "/readyz 200"
body='{"upserts":[{"id":"shop/apps/v1/Deployment/postgres","namespace":"shop","name":"postgres","kind":"Deployment","apiVersion":"apps/v1","apiGroup":"apps","labels":{"app":"postgres"},"annotations":null,"createdAt":"2026-01-02T03:04:05Z"}],"deletes":null}'
code=$(curl -sS -m 30 -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' --data "$body" \
  "http://127.0.0.1:$port/api/v1/instances/sync")
[ "$code" = 200 ] || fail "sync answered $code, not 200"
found=$(curl -sS -m 30 "http://127.0.0.1:$port/api/v1/instances/search?q=postgres+database&n=1")
case $found in *'"id":"shop/apps/v1/Deployment/postgres"'*) ;; *) fail "search did not find the synced instance: $found" ;; esac
[ -n "$(ls -A "$root$journal" 2>/dev/null)" ] || fail "no journal written under $journal"
owner=$(stat -c %u "$root$journal")
[ "$owner" = "$uid" ] || [ "$(id -u)" -ne 0 ] || fail "journal owned by $owner, not $uid"
t0=$(date +%s%N)
kill -TERM "$pid"
wait "$pid" && rc=0 || rc=$?
pid=
took=$(( ($(date +%s%N) - t0) / 1000000 ))
[ "$rc" = 0 ] || fail "exit $rc after SIGTERM"
grace=$(sed -n 's/.*terminationGracePeriodSeconds: \([0-9]*\).*/\1/p' "$top/contrib/kubernetes/base/statefulset.yaml")
[ "$took" -lt $(( grace * 1000 )) ] || fail "SIGTERM to exit took $took ms, over the ${grace} s grace period"
echo "deploy_rootfs: staged image root ($(du -sh "$root/usr/local" | cut -f1) in /usr/local): --version, /healthz, /readyz, sync + search with the staged model, SIGTERM exit 0 in $took ms (grace ${grace} s)"
