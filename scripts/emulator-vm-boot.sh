#!/usr/bin/env bash
# Boots one namespace VM of cyclecloud-emulator the way CycleCloud boots a node: the VM's
# own file system, /sched and /shared from the scheduler, a jetpack, the cluster-init
# project's scripts in order, then the services they started (munged, and slurmd last).
# Started by the namespaces backend (src/emulator/namespace_backend.cpp, --cluster-init) as
# root in the VM's network, UTS, time and a new mount namespace:
#
#   emulator-vm-boot.sh boot --node NAME --cluster NAME --project DIR --status FILE
#       --mnt DIR [--spec NAME] [--root DIR] [--sched DIR] [--shared DIR] [--bind PATH]...
#       [--munge-socket PATH] [--gpus N] [--config KEY=VALUE]...
#
# The VM's root is an overlay of --root (default /, the host's own image) whose upper layer
# is a tmpfs on --mnt (an empty directory): what cluster-init writes (accounts in /etc, the
# munge key, /opt, /var) stays in the VM and goes with it; nothing is mounted or written on
# the host. The VM gets the host's /proc, /dev and /sys, a fresh /run and /tmp, each --bind
# PATH at the same path (the testbed: slurm.conf's log, spool and pid paths), --sched on
# /sched (ro,nosuid,nodev,noexec, as templates/slurm-headless.txt mounts it) and --shared on
# /shared (nosuid,nodev). --gpus N (a GPU VM size) gives the VM a /dev of its own instead
# (a tmpfs with the host's null, zero, full, random, urandom, tty, ptmx, pts, shm, mqueue and the
# fd links, as a container gets) holding N stand-ins for its GPUs: /dev/nvidia0..N-1,
# character devices with /dev/null's numbers, so slurmd finds the files gres.conf names (it
# only stats them) and a program that opens one reads nothing.
# With --root other than /, the VM's accounts, /etc/hosts come from
# the host (a site's directory service) and it has no DNS. --munge-socket (slurm.conf's
# AuthInfo socket) leads to the VM's own munged there.
#
# In the VM (chroot): /opt/cycle/jetpack/bin/jetpack answers `jetpack config KEY [DEFAULT]`
# from the --config values (cyclecloud.node.name, cyclecloud.cluster.name, ...); systemctl
# and hostnamectl are stand-ins (no systemd in a namespace): `systemctl restart munge` starts
# munged as the munge user, `systemctl restart slurmd` is done when the cluster-init has
# finished: this process becomes the ExecStart of slurmd's unit (its drop-in), keeping its
# PID. The project's spec is copied to /mnt/cluster-init/PROJECT/SPEC, as jetpack does.
#
# --status FILE (its directory is bound into the VM) gets "ok" when the cluster-init
# succeeded, just before slurmd starts, or "failed MESSAGE" (which script, its exit code and
# the last line it wrote to stderr); the process then exits 1.
set -euo pipefail

jetpack_dir=/opt/cycle/jetpack
path=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

node="" status=""
fail() {
  echo "emulator-vm-boot: ${node:-?}: $*" >&2
  if [ -n "$status" ]; then printf 'failed %s\n' "$*" >"$status" || true; fi
  exit 1
}

# --- in the VM: jetpack converge -----------------------------------------------------------

# Runs every script of every spec under /mnt/cluster-init in order, as jetpack does at boot,
# then starts slurmd if the cluster-init asked for it. Runs chrooted in the VM.
converge() {
  status=$1
  node=$("$jetpack_dir/bin/jetpack" config cyclecloud.node.name)
  local spec script name rc err
  err=$(mktemp)
  for spec in /mnt/cluster-init/*/*; do
    [ -d "$spec/scripts" ] || continue
    for script in "$spec"/scripts/*; do
      [ -f "$script" ] || continue
      name="${spec#/mnt/cluster-init/}/scripts/${script##*/}"
      echo "jetpack: running cluster-init $name"
      rc=0
      case "$script" in
        *.sh) CYCLECLOUD_SPEC_PATH=$spec bash "$script" 2>"$err" || rc=$? ;;
        *) if [ -x "$script" ]; then CYCLECLOUD_SPEC_PATH=$spec "$script" 2>"$err" || rc=$?; else continue; fi ;;
      esac
      cat "$err" >&2
      if [ "$rc" != 0 ]; then
        fail "cluster-init $name exited with $rc: $(grep -v '^[[:space:]]*$' "$err" | tail -n 1)"
      fi
    done
  done
  rm -f "$err"
  if [ ! -e /run/cb-vm/start-slurmd ]; then
    fail "the cluster-init did not start slurmd"
  fi
  local unit=/etc/systemd/system/slurmd.service.d/cloudburst.conf exec_start
  exec_start=$(sed -n 's/^ExecStart=\(..*\)$/\1/p' "$unit" 2>/dev/null | tail -n 1)
  [ -n "$exec_start" ] || fail "$unit has no ExecStart"
  echo "jetpack: cluster-init done; starting slurmd: $exec_start"
  echo ok >"$status"
  # As systemd starts a unit: a clean environment; the drop-in's words, unquoted.
  local -a argv
  read -r -a argv <<<"$exec_start"
  exec env -i PATH=$path "${argv[@]}"
}

# --- on the host, in the VM's new mount namespace: build the VM's file system ---------------

# The VM's /dev with GPU stand-ins (see the top): a tmpfs, never the host's /dev.
gpu_dev() {
  local dev=$1 gpus=$2 name i
  mount -t tmpfs -o mode=0755,nosuid cb-vm-dev "$dev"
  for name in null zero full random urandom tty ptmx; do
    : >"$dev/$name"
    mount --bind "/dev/$name" "$dev/$name"
  done
  for name in pts shm mqueue; do
    [ -d "/dev/$name" ] || continue
    mkdir "$dev/$name"
    mount --rbind "/dev/$name" "$dev/$name"
  done
  ln -s /proc/self/fd "$dev/fd"
  ln -s /proc/self/fd/0 "$dev/stdin"
  ln -s /proc/self/fd/1 "$dev/stdout"
  ln -s /proc/self/fd/2 "$dev/stderr"
  for ((i = 0; i < gpus; i++)); do
    mknod -m 0666 "$dev/nvidia$i" c 1 3
  done
}

write_jetpack() {
  local r=$1
  shift
  install -d -m 0755 "$r$jetpack_dir/bin" "$r$jetpack_dir/config" "$r$jetpack_dir/system/bin"
  printf '%s\n' "$@" >"$r$jetpack_dir/config/node.conf"
  cat >"$r$jetpack_dir/bin/jetpack" <<'EOF'
#!/bin/bash
# jetpack of cyclecloud-emulator's namespace VMs: `jetpack config KEY [DEFAULT]` answers from
# the node's settings (what CycleCloud would give); `jetpack converge` runs the cluster-init.
set -euo pipefail
case "${1:-}" in
  config)
    [ $# -ge 2 ] || { echo "usage: jetpack config KEY [DEFAULT]" >&2; exit 2; }
    found=0
    while IFS= read -r line; do
      if [ "${line%%=*}" = "$2" ]; then value=${line#*=} found=1; fi
    done </opt/cycle/jetpack/config/node.conf
    if [ "$found" = 1 ]; then printf '%s\n' "$value"
    elif [ $# -ge 3 ]; then printf '%s\n' "$3"
    else
      echo "jetpack: error: no configuration value for $2" >&2
      exit 1
    fi
    ;;
  converge) exec bash /opt/cycle/jetpack/system/bin/emulator-vm-boot.sh converge "$2" ;;
  *) echo "jetpack (emulator): only 'config KEY [DEFAULT]' and 'converge' are available" >&2; exit 2 ;;
esac
EOF
  chmod 0755 "$r$jetpack_dir/bin/jetpack"
  install -m 0755 "$0" "$r$jetpack_dir/system/bin/emulator-vm-boot.sh"
}

# systemctl and hostnamectl: a namespace VM has no systemd.
write_init_stand_ins() {
  local r=$1
  cat >"$r/usr/bin/systemctl" <<'EOF'
#!/bin/bash
# systemctl of cyclecloud-emulator's namespace VMs (no systemd there): munge starts munged
# at once; slurmd starts when the cluster-init is done (emulator-vm-boot.sh converge).
set -euo pipefail
verb=${1:-} unit=${2:-}
unit=${unit%.service}
start_munged() {
  local pid
  pid=$(cat /run/munge/munged.pid 2>/dev/null || true)
  if [ -n "$pid" ] && kill "$pid" 2>/dev/null; then
    while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
  fi
  install -d -o munge -g munge -m 0755 /run/munge
  install -d -o munge -g munge -m 0700 /var/lib/munge /var/log/munge
  setpriv --reuid=munge --regid=munge --init-groups /usr/sbin/munged
}
case "$verb" in
  daemon-reload | enable | disable) ;;
  start | restart)
    case "$unit" in
      munge) start_munged ;;
      slurmd) install -d -m 0755 /run/cb-vm && : >/run/cb-vm/start-slurmd ;;
      *) echo "systemctl (emulator VM): unknown unit $unit" >&2; exit 5 ;;
    esac
    ;;
  *) echo "systemctl (emulator VM): '$verb' is not available" >&2; exit 1 ;;
esac
EOF
  cat >"$r/usr/bin/hostnamectl" <<'EOF'
#!/bin/bash
# hostnamectl of cyclecloud-emulator's namespace VMs: set-hostname only.
set -euo pipefail
[ "${1:-}" = set-hostname ] && [ -n "${2:-}" ] || { echo "hostnamectl (emulator VM): only set-hostname NAME" >&2; exit 1; }
printf '%s' "$2" >/proc/sys/kernel/hostname
printf '%s\n' "$2" >/etc/hostname
EOF
  chmod 0755 "$r/usr/bin/systemctl" "$r/usr/bin/hostnamectl"
}

boot() {
  local cluster="" project="" spec=execute root=/ sched="" shared="" mnt="" munge_socket="" gpus=0
  local -a binds=() config=()
  while [ $# -gt 0 ]; do
    [ $# -ge 2 ] || fail "option $1 needs a value"
    case "$1" in
      --node) node=$2 ;;
      --cluster) cluster=$2 ;;
      --project) project=$2 ;;
      --spec) spec=$2 ;;
      --status) status=$2 ;;
      --mnt) mnt=$2 ;;
      --root) root=$2 ;;
      --sched) sched=$2 ;;
      --shared) shared=$2 ;;
      --bind) binds+=("$2") ;;
      --munge-socket) munge_socket=$2 ;;
      --gpus) gpus=$2 ;;
      --config) config+=("$2") ;;
      *) fail "unknown option $1" ;;
    esac
    shift 2
  done
  if [ -z "$node" ] || [ -z "$cluster" ] || [ -z "$project" ] || [ -z "$mnt" ] || [ -z "$status" ]; then
    fail "--node, --cluster, --project, --mnt and --status are required"
  fi
  # Everything below mounts: only ever in the VM's own mount namespace, never the host's.
  [ "$(readlink /proc/self/ns/mnt)" != "$(readlink "/proc/$PPID/ns/mnt")" ] ||
    fail "not in a mount namespace of its own (the namespaces backend starts it in one)"
  [[ $gpus =~ ^[0-9]{1,2}$ ]] || fail "--gpus wants a number of GPUs, got '$gpus'"
  [ -f "$project/project.ini" ] || fail "$project is not a cluster-init project (no project.ini)"
  local name
  name=$(sed -n 's/^[[:space:]]*name[[:space:]]*=[[:space:]]*\([A-Za-z0-9._-]*\).*/\1/p' "$project/project.ini" | head -n 1)
  [ -n "$name" ] || fail "$project/project.ini has no name"
  [ -d "$project/specs/$spec/cluster-init" ] || fail "$project has no spec $spec"

  mount --make-rprivate /
  mkdir -p "$mnt"
  mount -t tmpfs -o mode=0755 cb-vm "$mnt"
  mkdir "$mnt/upper" "$mnt/work" "$mnt/root"
  mount -t overlay -o "lowerdir=$root,upperdir=$mnt/upper,workdir=$mnt/work" cb-vm "$mnt/root"
  local r=$mnt/root b
  mount --rbind /proc "$r/proc"
  if ((10#$gpus > 0)); then
    gpu_dev "$r/dev" "$((10#$gpus))"
  else
    mount --rbind /dev "$r/dev"
  fi
  mount --rbind /sys "$r/sys"
  mount -t tmpfs -o mode=1777 cb-vm-tmp "$r/tmp"
  mount -t tmpfs -o mode=0755 cb-vm-run "$r/run"
  for b in "${binds[@]}" "$(dirname "$status")"; do
    mkdir -p "$r$b"
    mount --bind "$b" "$r$b"
  done
  mkdir -p "$r/sched" "$r/shared"
  if [ -n "$sched" ]; then
    mount --bind "$sched" "$r/sched"
    mount -o remount,bind,ro,nosuid,nodev,noexec "$r/sched"
  fi
  if [ -n "$shared" ]; then
    mount --bind "$shared" "$r/shared"
    mount -o remount,bind,nosuid,nodev "$r/shared"
  fi
  if [ -n "$munge_socket" ]; then
    mkdir -p "$r$(dirname "$munge_socket")"
    mount -t tmpfs -o mode=0755 cb-vm-munge "$r$(dirname "$munge_socket")"
    ln -s /run/munge/munge.socket.2 "$r$munge_socket"
  fi
  if [ "$root" != / ]; then
    # slurm.conf names the root's plugins by their path on the host (PluginDir): that path
    # leads back to the VM's top.
    if [ ! -e "$r$root" ]; then
      mkdir -p "$r$(dirname "$root")"
      ln -s / "$r$root"
    fi
    cp /etc/passwd /etc/group /etc/hosts "$r/etc/"
    cp /etc/shadow /etc/gshadow "$r/etc/" 2>/dev/null || true
  fi
  # The image has no slurm or munge account, as a marketplace image before the packages:
  # the cluster-init makes them with the scheduler's UIDs and GIDs (and fails if it cannot).
  local f
  for f in passwd group shadow gshadow; do
    if [ -f "$r/etc/$f" ]; then sed -i -e '/^slurm:/d' -e '/^munge:/d' "$r/etc/$f"; fi
  done
  # No DNS: every name the VM needs is in /etc/hosts or given as an address; a query would
  # leave the VM by its default route and time out.
  rm -f "$r/etc/resolv.conf"
  printf '# emulator VM: no DNS\nnameserver 127.0.0.1\n' >"$r/etc/resolv.conf"
  mkdir -p "$r/mnt/cluster-init/$name"
  cp -r "$project/specs/$spec/cluster-init" "$r/mnt/cluster-init/$name/$spec"
  write_jetpack "$r" "cyclecloud.node.name=$node" "cyclecloud.cluster.name=$cluster" \
    ${config[@]+"${config[@]}"}
  write_init_stand_ins "$r"
  exec chroot "$r" /usr/bin/env -i PATH=$path HOME=/root "$jetpack_dir/bin/jetpack" converge "$status"
}

case "${1:-}" in
  boot) shift; boot "$@" ;;
  converge) converge "$2" ;;
  *) echo "usage: emulator-vm-boot.sh boot --node NAME ... (see the comment at its top)" >&2; exit 2 ;;
esac
