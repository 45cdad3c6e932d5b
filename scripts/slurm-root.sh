#!/usr/bin/env bash
# A second Slurm beside the host's: prints the path of a Debian root holding that version's
# slurmctld, slurmd, clients and munge, ready to be used read-only by scripts/testbed.sh
# (--slurm VERSION) and the system tests. As root:
#
#   scripts/slurm-root.sh VERSION        VERSION: 24.11 (Debian 13 "trixie")
#
# The root is unpacked once from the tarball scripts/debian-root.sh builds and caches, into
# $CLOUDBURST_ROOT_CACHE/../slurm-VERSION (default /var/cache/cloudburst/slurm-24.11), and
# reused by every testbed after that: nothing ever writes to it (each daemon sees it through
# an overlay of its own, scripts/slurm-root-exec.sh). Idempotent and safe to run in parallel
# (a lock); a newer tarball (debian-root.sh rebuilt it) replaces the unpacked root.
set -euo pipefail
if [ $# -ne 1 ]; then
  sed -n '2,11p' "$0" >&2
  exit 2
fi
here=$(cd "$(dirname "$0")/.." && pwd)
version=$1
case "$version" in
  24.11) suite=trixie ;;
  *) echo "slurm-root: error: unknown Slurm version '$version' (24.11; the host's own is the default)" >&2; exit 2 ;;
esac
[ "$(id -u)" -eq 0 ] || { echo "slurm-root: error: run as root" >&2; exit 2; }
# curl and jq: for bench/naive_resume.sh, the hand-written ResumeProgram slurmctld runs in the root.
packages=(slurmctld slurmd slurm-client munge curl jq)
cache=${CLOUDBURST_ROOT_CACHE:-/var/cache/cloudburst/roots}
mkdir -p "$cache"
root=$(dirname "$cache")/slurm-$version

exec 8>"$root.lock"
flock 8
# debian-root.sh builds (once) and unpacks the tarball; its name is in its stamp.
key="$suite-$(printf '%s\n' "${packages[@]}" | sort -u | paste -sd, - | tr -d '\n' | sha256sum | cut -c1-12)"
tarball=$cache/$key.tar
stamp=""
if [ -s "$tarball" ]; then stamp="$key $(stat -c '%s %Y' "$tarball")"; fi
if [ -z "$stamp" ] || [ ! -f "$root/.cloudburst-root" ] || [ "$(cat "$root/.cloudburst-root")" != "$stamp" ]; then
  rm -rf "$root.tmp"
  bash "$here/scripts/debian-root.sh" "$suite" "$root.tmp" "${packages[@]}" >&2
  stamp="$key $(stat -c '%s %Y' "$tarball")"
  # Mount points the overlay needs that a minimal root lacks (slurm-root-exec.sh binds the
  # host's files there).
  touch "$root.tmp/etc/hosts"
  echo "$stamp" >"$root.tmp/.cloudburst-root"
  rm -rf "$root"
  mv "$root.tmp" "$root"
  chmod 0755 "$root"
fi
flock -u 8
echo "$root"
