#!/usr/bin/env bash
# Configures and builds one tree. Usage: scripts/build.sh [BUILD_DIR] [extra cmake args...]
# CLOUDBURST_TARGETS="a b" builds only those targets (default: everything).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-"$here/build"}
shift || true
cmake -S "$here" -B "$dir" -G Ninja "$@" >/dev/null
if [ -n "${CLOUDBURST_TARGETS:-}" ]; then
  read -ra targets <<<"$CLOUDBURST_TARGETS"
  cmake --build "$dir" --target "${targets[@]}"
else
  cmake --build "$dir"
fi
