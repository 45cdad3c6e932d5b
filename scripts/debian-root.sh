#!/usr/bin/env bash
# A fresh Debian root for tests: DEST becomes a minimal SUITE system (bookworm = Debian 12,
# trixie = Debian 13) with PACKAGEs installed, unpacked from a cached tarball that mmdebstrap
# builds once from the package registry (about 30 s; debootstrap takes minutes).
#
#   scripts/debian-root.sh SUITE DEST [PACKAGE...]
#
# Cache: $CLOUDBURST_ROOT_CACHE (default /var/cache/cloudburst/roots), one tarball per suite
# and package set; delete it to rebuild. Mirror: $CLOUDBURST_DEBIAN_MIRROR (default
# http://deb.debian.org/debian). Needs root and mmdebstrap. Idempotent and safe to run in
# parallel (a lock per tarball).
set -euo pipefail
if [ $# -lt 2 ]; then
  sed -n '2,11p' "$0" >&2
  exit 2
fi
suite=$1 dest=$2
shift 2
case "$suite" in
  bookworm|trixie) ;;
  *) echo "debian-root: error: unknown suite '$suite' (bookworm or trixie)" >&2; exit 2 ;;
esac
for p in "$@"; do
  case "$p" in
    ''|-*|*[!a-z0-9.+-]*) echo "debian-root: error: '$p' is not a Debian package name" >&2; exit 2 ;;
  esac
done
if [ "$(id -u)" -ne 0 ]; then
  echo "debian-root: error: run as root (mmdebstrap and chroot need it)" >&2
  exit 2
fi
mirror=${CLOUDBURST_DEBIAN_MIRROR:-http://deb.debian.org/debian}
cache=${CLOUDBURST_ROOT_CACHE:-/var/cache/cloudburst/roots}
mkdir -p "$cache"
chmod 0700 "$cache"

packages=$(printf '%s\n' "$@" | sort -u | paste -sd, -)
key=$suite
if [ -n "$packages" ]; then
  key="$suite-$(printf '%s' "$packages" | sha256sum | cut -c1-12)"
fi
tarball="$cache/$key.tar"

exec 9>"$tarball.lock"
flock 9
if [ ! -s "$tarball" ]; then
  echo "debian-root: building $key with mmdebstrap (once; cached in $tarball)" >&2
  include=()
  if [ -n "$packages" ]; then include=(--include="$packages"); fi
  # The package lists stay, so that `apt-get install ./x.deb` in the root finds dependencies.
  if ! mmdebstrap --variant=minbase --format=tar --skip=cleanup/apt/lists "${include[@]}" "$suite" \
      "$tarball.tmp" "$mirror" >"$tarball.log" 2>&1; then
    tail -20 "$tarball.log" >&2
    rm -f "$tarball.tmp"
    echo "debian-root: error: mmdebstrap $suite failed (log above, and in $tarball.log)" >&2
    exit 1
  fi
  mv -f "$tarball.tmp" "$tarball"
fi
flock -u 9

mkdir -p "$dest"
if [ -n "$(ls -A "$dest")" ]; then
  echo "debian-root: error: $dest is not empty" >&2
  exit 2
fi
tar --numeric-owner -xpf "$tarball" -C "$dest"
# Name resolution in the root, for apt.
cp -L /etc/resolv.conf "$dest/etc/resolv.conf" 2>/dev/null || true
