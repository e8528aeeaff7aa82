#!/bin/sh
# Retrieval benchmark of the search module: starts a real Chroma (npm),
# builds cw-search-bench in build/bench-search and prints R@1 / R@3 /
# MRR@10 per question category for vector, lexical and hybrid ranking with
# the local MiniLM model (contrib/searchbench/). Extra arguments go to
# cw-search-bench (e.g. --verbose lists every miss).
set -eu
cd "$(dirname "$0")/.."
B=build/bench-search
cmake -S . -B "$B" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$B" -j2 --target cw-search-bench >/dev/null
STATE=$(mktemp -d)
trap 'contrib/chroma.sh stop "$STATE" >/dev/null 2>&1 || true; rm -rf "$STATE"' EXIT
contrib/chroma.sh start "$STATE" >/dev/null
"$B/cw-search-bench" --chroma-url "$(cat "$STATE/url")" --data contrib/searchbench "$@"
