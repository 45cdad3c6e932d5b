#!/usr/bin/env bash
# Runs COMMAND (a path inside ROOT) chrooted into a private, writable view of the read-only
# Slurm root ROOT (scripts/slurm-root.sh), for scripts/testbed.sh --slurm VERSION. As root:
#
#   slurm-root-exec.sh ROOT MNT [--bind PATH]... -- COMMAND [ARG...]
#
# In a new mount namespace (gone with the process; nothing is ever mounted on the host):
# a tmpfs on MNT (an empty directory) holds an overlay whose lower layer is ROOT, so ROOT is
# never written; the host's /proc, /dev, /sys and /tmp, every --bind PATH (the testbed
# directory, the build directory) at the same path, the host's /etc/passwd, /etc/group and
# /etc/hosts (same accounts and IDs, names resolve as on the host, and no DNS), a fresh
# /run, and ROOT's own path as a link to /. The
# process keeps its PID (exec all the way), network, UTS and time namespaces, so the
# emulator's and namespace-vms' slurmd and testbed.sh's pid files see Slurm's own daemon.
set -euo pipefail
root=$1 mnt=$2
shift 2
binds=()
while [ $# -gt 0 ] && [ "$1" != -- ]; do
  if [ "$1" != --bind ] || [ $# -lt 2 ]; then
    echo "slurm-root-exec: usage: ROOT MNT [--bind PATH]... -- COMMAND" >&2
    exit 2
  fi
  binds+=("$2")
  shift 2
done
[ $# -ge 2 ] || { echo "slurm-root-exec: no command" >&2; exit 2; }
shift
if [ "${CB_SLURM_ROOT_NS:-}" != "$$" ]; then
  export CB_SLURM_ROOT_NS=$$
  again=("$root" "$mnt")
  for b in ${binds[@]+"${binds[@]}"}; do again+=(--bind "$b"); done
  exec unshare --mount --propagation private -- "$0" "${again[@]}" -- "$@"
fi
unset CB_SLURM_ROOT_NS
mount -t tmpfs -o mode=0755 cb-slurm-root "$mnt"
mkdir "$mnt/upper" "$mnt/work" "$mnt/root"
mount -t overlay -o "lowerdir=$root,upperdir=$mnt/upper,workdir=$mnt/work" cb-slurm-root "$mnt/root"
r=$mnt/root
mount --rbind /proc "$r/proc"
mount --rbind /dev "$r/dev"
mount --rbind /sys "$r/sys"
mount --rbind /tmp "$r/tmp"
mount -t tmpfs -o mode=0755 cb-slurm-run "$r/run"
# The accounts through a read-only view of the host's /etc, not a bind of the files: useradd
# replaces /etc/passwd by a rename, and a bound file would keep showing the old one, so a user
# made after slurmctld started would stay unknown to it ("Error generating job credential").
mkdir "$r/run/cb-host-etc"
mount --bind /etc "$r/run/cb-host-etc"
mount -o remount,bind,ro "$r/run/cb-host-etc"
for f in passwd group hosts; do
  ln -sfn "/run/cb-host-etc/$f" "$r/etc/$f"
done
for b in ${binds[@]+"${binds[@]}"}; do
  case "$b" in /tmp/*) continue ;; esac # already there through /tmp
  mkdir -p "$r$b"
  mount --rbind "$b" "$r$b"
done
# No DNS: every name the testbed uses is in /etc/hosts or given as an address. A query for
# any other name (slurmd looks up its node name) would leave an emulated VM's namespace by its
# default route and time out, holding slurmd's start up by 10 s; a resolver on 127.0.0.1,
# where nothing listens, fails at once.
printf '# slurm-root-exec.sh: no DNS in the testbed\nnameserver 127.0.0.1\n' >"$r/etc/resolv.conf"
# ROOT's own path leads back to the root's top, so that paths the clients outside use (the
# PluginDir in slurm.conf) hold the same files inside.
if [ ! -e "$r$root" ]; then
  mkdir -p "$r$(dirname "$root")"
  ln -s / "$r$root"
fi
exec chroot "$r" "$@"
