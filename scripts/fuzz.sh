#!/usr/bin/env bash
# Builds the libFuzzer targets with clang and runs one. Usage: scripts/fuzz.sh NAME [SECONDS]
# NAME is a target in tests/fuzz/ without "_fuzz" (e.g. hostlist). Findings go to
# tests/fuzz/findings/NAME/ (ignored by git); the seed corpus is tests/fuzz/corpus/NAME/.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
name=${1:?usage: scripts/fuzz.sh NAME [SECONDS]}
seconds=${2:-60}
# Only the fuzz target: the programs are not linked with libFuzzer's runtime.
CXX=clang++ CLOUDBURST_TARGETS="${name}_fuzz" bash "$here/scripts/build.sh" "$here/build-fuzz" -DCLOUDBURST_FUZZ=ON \
  -DCLOUDBURST_BENCH=OFF -DCLOUDBURST_SYSTEM_TESTS=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$here/tests/fuzz/findings/$name"
cp -r "$here/tests/fuzz/corpus/$name/." "$work/" 2>/dev/null || true
"$here/build-fuzz/tests/fuzz/${name}_fuzz" -max_total_time="$seconds" -print_final_stats=1 \
  -artifact_prefix="$here/tests/fuzz/findings/$name/" "$work"
