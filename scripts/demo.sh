#!/usr/bin/env bash
# The demo, on one machine as root. It installs and builds what it needs first.
#
# Honest status: the burst path (hooks, daemon, CycleCloud client) is not built yet, so the
# demo shows what exists: the operator CLI's hostlist tool and configuration checks. When
# the emulator and the burst path land, this script grows into the full overflow demo
# described in README.md.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
bash scripts/install-deps.sh
bash scripts/build.sh "$here/build" >/dev/null
cb=$here/build/cloudburst

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { printf '$ %s\n' "$*"; "$@" || printf '(exit %d)\n' "$?"; }

step "Hostlists, byte-compatible with Slurm"
show "$cb" hostlist compress n3 n1 n2 n10 n9
show "$cb" hostlist sort n3 n1 n2 n10 n9
show "$cb" hostlist expand 'hpc-[01-03],gpu7'
show "$cb" hostlist expand 'n[1-3'

step "What is not built yet says so"
show "$cb" nodes
