#!/usr/bin/env bash
# Installs every Debian package cluster-whisperer needs to build, test and run.
# Non-interactive and idempotent: packages already present are left alone.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config git ca-certificates curl
  re2c wrk
  libmicrohttpd-dev libjson-c-dev libcurl4-openssl-dev
  libcunit1-dev libopenblas-dev libsqlite3-dev sqlite3
  libdnnl-dev                         # oneDNN: the local model's bf16/int8 products
  clang libclang-rt-14-dev valgrind   # libFuzzer (contrib/fuzz.sh), memcheck (test.sh)
  nodejs npm
  golang-go                           # the Go contract client (tests/contract/go)
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

# node/npm may come from elsewhere (e.g. nodesource); accept a working binary.
if command -v node >/dev/null && command -v npm >/dev/null; then
  tmp=()
  for p in "${missing[@]}"; do [[ $p == nodejs || $p == npm ]] || tmp+=("$p"); done
  missing=("${tmp[@]+"${tmp[@]}"}")
fi

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all packages present"
  exit 0
fi

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
echo "install-deps: installing ${missing[*]}"
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
