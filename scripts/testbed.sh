#!/usr/bin/env bash
# A real Slurm cluster on this machine, in a directory of its own, for tests, benchmarks and
# the demo. As root:
#
#   scripts/testbed.sh up DIR [options]     bring it up; prints how to use it
#   scripts/testbed.sh down DIR             stop and remove everything `up` made
#
# `up` starts, all inside DIR and on a bridge of its own (cbtbNNN, 198.18.NNN.0/24, with
# 198.18.NNN.1 on the host): its own munged (own key and socket), a real slurmctld on a free
# port with a generated slurm.conf (SlurmUser=slurm, as in production: slurmctld, the
# power-saving programs and cloudburstd run as the unprivileged `slurm` account; cloud nodes
# State=CLOUD, power saving on), optionally
# always-on "on-prem" nodes (slurmd in network namespaces, run by build/tests/namespace-vms),
# and optionally the CycleCloud emulator with its namespaces (or none) backend. Several testbeds can
# run at once. Everything started is recorded in DIR, and `down` removes it by those
# records (PIDs, names with the testbed's prefix), also after a failed or interrupted `up`;
# `up` runs `down` itself when it fails. Logs stay in DIR/log.
#
# Addresses in 198.18.NNN.0/24: .1 the host (slurmctld), .16-.31 on-prem nodes,
# .64-.127 free for tests' own namespace VMs, .128-.254 the emulator's VMs. With more than
# 126 cloud nodes (--cloud-nodes; not --scale's) and the namespaces backend, the emulator's
# VMs get a /22 of their own instead (1,021 VMs, 198.18.B.0/22 for B in 200, 204 .. 252; the
# host is .1 there too, on the same bridge; on-prem nodes do not reach them, the host does
# not forward).
# Namespace-VM instances of a testbed are named tbNNN<x> (x: o on-prem, c emulator, others
# free for tests); `down` cleans every instance with its prefix.
#
# Options for `up`:
#   --cloud-nodes HOSTLIST     cloud nodes (State=CLOUD) of the testbed's own, in
#                              partitions work and cloud; default cloud[1-4], but none with
#                              --cloudburst, whose default is the template's cloud (--scale
#                              with the parameters below)
#   --onprem N                 always-on nodes onprem1..onpremN (default 0, at most 16)
#   --resume-program PATH      ResumeProgram (default: DIR/bin/resume, which only records
#   --suspend-program PATH     its calls in DIR/log/hooks.log as "EPOCH-SECONDS resume
#   --resume-fail-program PATH HOSTLIST"); same for SuspendProgram and ResumeFailProgram
#   --resume-timeout S         ResumeTimeout (default 60)
#   --suspend-time S           SuspendTime of the cloud partition (default 300)
#   --suspend-timeout S        SuspendTimeout (default 10)
#   --cred-expire S            AuthInfo cred_expire: also how long a requeued job waits
#                              before it may start again (Slurm's default: 120)
#   --cloud-reg-addrs          let slurmctld take NodeAddr from the registration
#                              (default: off; whoever resumes nodes sets NodeAddr)
#   --extra-conf FILE          appended to slurm.conf
#   --emulator                 start build/cyclecloud-emulator --backend namespaces (its
#                              VMs on the testbed's bridge, slurmd with this slurm.conf;
#                              URL, cluster, CA, credentials in testbed.env)
#   --emulator-arg ARG         extra emulator argument (repeat), e.g. --http, --timing fast
#   --emulator-backend B       the emulator's VM backend: namespaces (the default, above) or
#                              none (VMs are only addresses, from 198.18.0.2 up, and run no
#                              slurmd: nodes never register; for scale benchmarks with
#                              thousands of cloud nodes, bench/scale_bench.sh). With none
#                              there is no cluster-init and the testbed's bridge and pool
#                              are not the VMs'
#   --cluster-init             (the default) the emulator's VMs boot as CycleCloud nodes:
#                              each runs the cluster-init templates/cluster-init/cloudburst
#                              (scripts/emulator-vm-boot.sh: a jetpack, /sched and /shared
#                              from DIR/sched and DIR/shared, its own accounts, munged and
#                              file system) and slurmd is what it starts, configless.
#                              DIR/sched/<cluster> holds cloudburst-node.env and the munge
#                              key as `cloudburst setup scheduler` writes them
#   --no-cluster-init          the emulator starts slurmd directly in its VMs (faster by
#                              about 2 s a boot; CB_TESTBED_CLUSTER_INIT=0 in the
#                              environment makes it the default)
#   --cloudburst               the whole burst stack: implies --emulator, installs
#                              build/cloudburst-{resume,suspend,resume-fail} into
#                              DIR/libexec (slurm runs them from there, as from an install,
#                              wherever the build is) as the power-save programs, writes
#                              DIR/etc/cloudburst.toml (next to slurm.conf, where the hooks
#                              look; root:root 0644, no secret) and the password in
#                              DIR/etc/cloudburst.password (root:root 0600), and starts
#                              build/cloudburstd as slurm (setpriv) with the password handed
#                              over as systemd would (LoadCredential=): a copy owned by slurm,
#                              0400, in DIR/credentials, named by $CREDENTIALS_DIRECTORY
#                              With --cloudburst, PrologSlurmctld is the registration gate
#                              DIR/libexec/cloudburst-prolog (jobs start when their nodes
#                              register, not at slurmctld's next 30 s check)
#   --no-prolog-gate           no PrologSlurmctld (to measure Slurm's own start latency)
#   --cloudburst-conf FILE     appended to DIR/etc/cloudburst.toml (e.g. [nodearrays.hpc])
#   --scale                    with --cloudburst: the emulator's node arrays (the template's
#                              hpc, htc, gpu, dynamic; --emulator-arg -p NAME=VALUE sets its
#                              parameters) become Slurm nodes and partitions as on a real
#                              scheduler. --cloudburst without --cloud-nodes implies it, with
#                              these parameters (later -p override them): hpc on
#                              Standard_HB120rs_v3 (InfiniBand), 4 nodes in one placement
#                              group (`srun -p hpc -N2` meets its peer over ib0; with
#                              -p HPCMaxScalesetSize=2 two groups, and then no dynamic
#                              partition: Slurm before 25.05 runs no job on dynamic nodes
#                              under the topology plugin groups need); gpu on
#                              Standard_NC48ads_A100_v4, 2 nodes of 2 GPUs; htc and dynamic
#                              (slurmd -Z) as the template has them. As on a real
#                              scheduler: `cloudburst scale` writes DIR/etc/cloudburst.conf
#                              and the GPU lines of DIR/etc/gres.conf, then slurmctld restarts
#                              (22.05 adds nodes only on a restart) and `scale` runs again
#                              (it creates the dynamic array's nodes). slurm.conf then has
#                              SlurmdParameters=config_overrides: the VMs have this host's
#                              CPUs and memory, not their VM size's
#   --build DIR                build directory (default: <repo>/build)
#   --slurm VERSION            which Slurm runs the testbed: `host` (default: the host's
#                              packages, 22.05 on Debian 12) or 24.11 (Debian 13's, from the
#                              root scripts/slurm-root.sh unpacks once; install-deps.sh makes
#                              it). slurmctld, munged and every slurmd (on-prem and the
#                              emulator's VMs) then run chrooted into a private overlay of
#                              that root (scripts/slurm-root-exec.sh: the testbed and build
#                              directories at the same paths, the host's accounts), wrapped
#                              as DIR/slurm/sbin/NAME; its clients are DIR/slurm/bin/NAME
#                              (testbed.env puts them first in PATH, cloudburst.toml's
#                              [slurm] bin_dir names them). The cloudburst binaries are the
#                              host's, the same for both versions.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
prog=testbed

die() {
  echo "$prog: error: $*" >&2
  exit 1
}
note() { echo "$prog: $*" >&2; }

usage() {
  sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//' >&2
  exit 2
}

# --- records -----------------------------------------------------------------------------

# DIR/testbed.state holds KEY=VALUE lines written before each thing is made.
record() { echo "$1=$2" >>"$dir/testbed.state"; }
recorded() { sed -n "s/^$1=//p" "$dir/testbed.state" 2>/dev/null | tail -n 1; }

# True while PID runs and was started for this testbed (its command line names a path in
# DIR), so a reused PID is never signalled.
ours() {
  local pid=$1
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
  [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$dir/"
}

# Stops the process whose PID is in FILE: SIGTERM, then SIGKILL after a grace period.
stop_pidfile() {
  local file=$1 what=$2 pid i
  [ -f "$file" ] || return 0
  pid=$(head -c 32 "$file" | tr -dc 0-9)
  if ours "$pid"; then
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 100); do
      ours "$pid" || break
      sleep 0.1
    done
    if ours "$pid"; then
      note "$what (pid $pid) ignored SIGTERM; killing it"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  rm -f "$file"
}

# --- down ----------------------------------------------------------------------------------

down() {
  [ -d "$dir" ] || die "no such directory: $dir"
  dir=$(cd "$dir" && pwd)
  local prefix build helper inst bridge vms
  prefix=$(recorded prefix)
  build=$(recorded build)
  helper=$build/tests/namespace-vms
  stop_pidfile "$dir/run/cloudburstd.pid" "cloudburstd"
  stop_pidfile "$dir/run/emulator.pid" "cyclecloud-emulator"
  stop_pidfile "$dir/run/onprem-vms.pid" "namespace-vms"
  if [ -n "$prefix" ]; then
    # Whatever namespace VMs of this testbed are left (a killed emulator or test, a failed
    # start): every instance named with the testbed's prefix, found by its namespaces and
    # veths, is cleaned up by the backend's own recovery.
    for inst in $( (ip netns list | awk '{print $1}' | sed -n "s/^cb-\(${prefix}[a-z0-9]\)-.*/\1/p"
      ip -o link show | awk -F': ' '{print $2}' | sed -n -E "s/^cb(${prefix}[a-z0-9])(-.*|br)$/\1/p") |
      sort -u); do
      if [ -x "$helper" ]; then
        vms=$(recorded "vms_$inst")
        "$helper" --instance "$inst" --state-dir "${vms:-$dir/vms/$inst}" --slurm-conf "$dir/etc/slurm.conf" \
          --recover-only >>"$dir/log/down.log" 2>&1 ||
          note "cleaning up instance $inst failed (see $dir/log/down.log)"
      else
        note "cannot clean up instance $inst: $helper is missing"
      fi
    done
  fi
  stop_pidfile "$dir/run/slurmctld.pid" "slurmctld"
  stop_pidfile "$dir/munge/munged.pid" "munged"
  local none_route
  none_route=$(recorded none_route)
  if [ -n "$none_route" ] && ip route show type unreachable |
    grep -qE "^unreachable 198\.18\.0\.0/18 metric ${none_route##* }( |\$)"; then
    # shellcheck disable=SC2086 # "PREFIX metric N": three words
    ip route del unreachable $none_route || note "cannot remove the route unreachable $none_route"
  fi
  bridge=$(recorded bridge)
  if [ -n "$bridge" ] && ip link show "$bridge" >/dev/null 2>&1; then
    ip link del "$bridge" || note "cannot remove bridge $bridge"
  fi
  rm -f "$dir/testbed.env" "$dir/munge/munge.socket" "$dir/munge/munge.socket.lock"
  rm -rf "$dir/credentials" # cloudburstd's copy of the password
  mv -f "$dir/testbed.state" "$dir/testbed.state.down" 2>/dev/null || true
  note "down: $dir"
}

# --- up ------------------------------------------------------------------------------------

# Waits up to SECONDS for COMMAND to succeed.
wait_for() {
  local seconds=$1 what=$2
  shift 2
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || die "$what did not happen within ${seconds}s"
    sleep 0.2
  done
}

# Picks NNN in 100..199 whose bridge name, subnet and none-backend route (its metric is NNN)
# nobody uses, and creates the bridge, under a machine-wide lock so two testbeds starting at
# once do not pick the same one. A route left by a testbed that was never taken down would
# otherwise make this one's `ip route add` fail ("File exists").
make_bridge() {
  exec 9>/run/lock/cloudburst-testbed.lock
  flock -w 30 9 || die "cannot lock /run/lock/cloudburst-testbed.lock"
  local n used routes
  used=$(ip -o -4 addr show | awk '{print $4}')
  routes=$(ip route show type unreachable)
  for n in $(seq 100 199); do
    ip link show "cbtb$n" >/dev/null 2>&1 && continue
    grep -q "^198\.18\.$n\." <<<"$used" && continue
    ip netns list | grep -q "^cb-tb$n" && continue
    grep -qE "^unreachable 198\.18\.0\.0/18 metric $n( |\$)" <<<"$routes" && continue
    index=$n
    break
  done
  [ -n "${index:-}" ] || die "no free testbed subnet in 198.18.100-199.0/24"
  bridge=cbtb$index
  record prefix "tb$index"
  record bridge "$bridge"
  ip link add name "$bridge" type bridge
  ip addr add "198.18.$index.1/24" dev "$bridge"
  ip link set dev "$bridge" up
  vm_subnet=198.18.$index.0/24
  vm_pool=198.18.$index.128/25
  if [ "${vm_count:-0}" -gt 126 ]; then
    [ "$vm_count" -le 1021 ] ||
      die "--cloud-nodes: $vm_count nodes; the namespaces backend's pool holds at most 1021"
    local b
    for b in $(seq 200 4 252); do
      grep -qE "^198\.18\.($b|$((b + 1))|$((b + 2))|$((b + 3)))\." <<<"$used" && continue
      vm_subnet=198.18.$b.0/22
      vm_pool=$vm_subnet
      break
    done
    [ "$vm_subnet" != "198.18.$index.0/24" ] || die "no free /22 for $vm_count VMs in 198.18.200-255.0"
    ip addr add "198.18.$b.1/22" dev "$bridge"
  fi
  exec 9>&-
}

# First free TCP port of the ten reserved for this testbed's index.
# A port of this testbed's ten that nothing listens on and no earlier free_port gave (a
# daemon may not have bound its port yet).
free_port() {
  local p
  for p in $(seq $((20000 + index * 10)) $((20009 + index * 10))); do
    grep -qE "_port=$p\$" "$dir/testbed.state" && continue
    ss -Htln "sport = :$p" | grep -q . || {
      echo "$p"
      return
    }
  done
  die "no free TCP port in $((20000 + index * 10))-$((20009 + index * 10))"
}

# --slurm VERSION: the wrappers that run the root's daemons (chrooted, see
# scripts/slurm-root-exec.sh) and clients. The clients are run by the root's own dynamic
# loader with its libraries, without a chroot, so that any user (cloudburstd as slurm, a test
# as nobody) can run them; slurm.conf's PluginDir names the root's plugins first for them.
setup_slurm_root() {
  local root=$1 name lib
  install -d -m 0755 "$dir/slurm" "$dir/slurm/mnt" "$dir/slurm/sbin" "$dir/slurm/bin"
  install -m 0755 "$here/scripts/slurm-root-exec.sh" "$dir/slurm/exec"
  for name in slurmctld slurmd munged; do
    printf '#!/bin/bash\n# Runs %s from %s (testbed.sh --slurm).\nexec %q %q %q --bind %q --bind %q -- /usr/sbin/%s "$@"\n' \
      "$name" "$root" "$dir/slurm/exec" "$root" "$dir/slurm/mnt" "$dir" "$build" "$name" >"$dir/slurm/sbin/$name"
    chmod 0755 "$dir/slurm/sbin/$name"
  done
  lib=$root/usr/lib/x86_64-linux-gnu
  [ -x "$root/usr/lib64/ld-linux-x86-64.so.2" ] || die "$root has no dynamic loader"
  for name in scontrol sinfo squeue sbatch srun salloc scancel sacct sdiag sprio sshare strigger; do
    [ -x "$root/usr/bin/$name" ] || continue
    printf '#!/bin/sh\n# %s from %s (testbed.sh --slurm).\nexec %q --library-path %q %q "$@"\n' \
      "$name" "$root" "$root/usr/lib64/ld-linux-x86-64.so.2" "$lib/slurm-wlm:$lib" "$root/usr/bin/$name" \
      >"$dir/slurm/bin/$name"
    chmod 0755 "$dir/slurm/bin/$name"
  done
  sbin=$dir/slurm/sbin
  bin=$dir/slurm/bin
  plugin_dir=$lib/slurm-wlm # inside the chroot too (slurm-root-exec.sh)
}

start_munge() {
  install -d -m 0755 "$dir/munge" # munged wants its socket directory searchable by all
  mungekey --create --keyfile="$dir/munge/munge.key"
  "$sbin/munged" --socket="$dir/munge/munge.socket" --key-file="$dir/munge/munge.key" \
    --pid-file="$dir/munge/munged.pid" --log-file="$dir/log/munged.log" \
    --seed-file="$dir/munge/munged.seed"
  munge -S "$dir/munge/munge.socket" -n | unmunge -S "$dir/munge/munge.socket" >/dev/null ||
    die "munged does not answer (see $dir/log/munged.log)"
}

write_hook() {
  cat >"$dir/bin/$1" <<EOF
#!/bin/bash
# Testbed stand-in for a power-saving program: records the call ("EPOCH-SECONDS PROGRAM
# HOSTLIST") and does nothing else. (22.05 runs it with no PATH and fds 0-2 closed, hence
# builtins only.)
printf '%(%s)T %s %s\n' -1 "$1" "\$1" >>"$dir/log/hooks.log"
EOF
  chmod 0755 "$dir/bin/$1"
}

write_configs() {
  local onprem_nodes="" i addr port
  port=$(free_port)
  record slurmctld_port "$port"
  install -d -m 0755 "$dir/etc" "$dir/bin" "$dir/spool" "$dir/run"
  # What slurmctld writes as SlurmUser: its state, its log, and the stand-in hooks' log (the
  # hooks run as SlurmUser too); everything else stays root's.
  install -d -o "$slurm_user" -g "$slurm_user" -m 0700 "$dir/state"
  install -o "$slurm_user" -g "$slurm_user" -m 0644 /dev/null "$dir/log/slurmctld.log"
  install -o "$slurm_user" -g "$slurm_user" -m 0644 /dev/null "$dir/log/hooks.log"
  for h in resume suspend resume-fail; do write_hook "$h"; done
  : >"$dir/etc/plugstack.conf"
  # cgroups: this kind of machine mounts cgroup v1 controllers under a tmpfs at
  # /sys/fs/cgroup (plus an empty cgroup2 at /sys/fs/cgroup/unified). Found here: with
  # proctrack/linuxproc and task/none (below) slurmd uses no cgroups and starts and runs jobs
  # with or without this file; with proctrack/cgroup and no cgroup.conf, 22.05.8's
  # autodetection chose cgroup/v1 and slurmd started too. The file names v1 explicitly, so
  # slurmd never depends on autodetection (reported failing on similar hosts: "No filesystem
  # mounted on /sys/fs/cgroup").
  #
  # slurmd 24.11 initialises a cgroup plugin whatever the proctrack and task plugins, and exits
  # ("Unable to initialize cgroup plugin") when it finds no cgroup file system it knows; the
  # testbed uses none, so it says so (CgroupPlugin=disabled, unknown to 22.05).
  if [ "$slurm_version" = host ]; then
    cat >"$dir/etc/cgroup.conf" <<EOF
CgroupPlugin=cgroup/v1
CgroupAutomount=no
CgroupMountpoint=/sys/fs/cgroup
EOF
  else
    echo "CgroupPlugin=disabled" >"$dir/etc/cgroup.conf"
  fi
  local params="idle_on_node_suspend,power_save_interval=1"
  # The cluster-init starts slurmd configless, as `cloudburst setup scheduler` configures it.
  if [ "$cluster_init" = 1 ]; then params="enable_configless,$params"; fi
  # From 23.11 on a cloud node's address always comes from its registration, and slurmctld
  # calls cloud_reg_addrs defunct (an error in its log): only older versions are told.
  if [ "$cloud_reg_addrs" = 1 ] && [ "$slurm_version" = host ]; then params="cloud_reg_addrs,$params"; fi
  cat >"$dir/etc/slurm.conf" <<EOF
# Generated by scripts/testbed.sh for the testbed in $dir.
ClusterName=tb$index
SlurmctldHost=$(hostname -s)(198.18.$index.1)
SlurmctldPort=$port
SlurmdPort=6818
SlurmUser=$slurm_user
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge/munge.socket${cred_expire:+,cred_expire=$cred_expire}
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool/%n
SlurmctldPidFile=$dir/run/slurmctld.pid
SlurmdPidFile=$dir/run/slurmd-%n.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd-%n.log
SlurmctldDebug=info
SlurmdDebug=info
DebugFlags=Power
PlugStackConfig=$dir/etc/plugstack.conf
${plugin_dir:+PluginDir=$plugin_dir}
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
MpiDefault=none
SwitchType=switch/none
ReturnToService=2
SlurmdTimeout=60
KillWait=5
# Power saving for cloud nodes (reference/slurm-power-saving.md §1, §6.1).
PrivateData=cloud
SlurmctldParameters=$params
TreeWidth=65533
ResumeProgram=$resume_program
SuspendProgram=$suspend_program
ResumeFailProgram=$resume_fail_program
${prolog_program:+PrologSlurmctld=$prolog_program}
ResumeTimeout=$resume_timeout
SuspendTimeout=$suspend_timeout
SuspendTime=INFINITE
ResumeRate=0
SuspendRate=0
EOF
  for ((i = 1; i <= onprem; i++)); do
    addr=198.18.$index.$((15 + i))
    echo "NodeName=onprem$i NodeAddr=$addr NodeHostname=onprem$i CPUs=1 RealMemory=100 Weight=1 Feature=onprem State=UNKNOWN" >>"$dir/etc/slurm.conf"
    onprem_nodes+="${onprem_nodes:+,}onprem$i"
  done
  if [ -n "$cloud_nodes" ]; then
    cat >>"$dir/etc/slurm.conf" <<EOF
NodeName=$cloud_nodes CPUs=1 RealMemory=100 Weight=10 Feature=cloud State=CLOUD
PartitionName=work Nodes=${onprem_nodes:+$onprem_nodes,}$cloud_nodes Default=YES MaxTime=INFINITE State=UP
PartitionName=cloud Nodes=$cloud_nodes SuspendTime=$suspend_time MaxTime=INFINITE State=UP
EOF
  elif [ -n "$onprem_nodes" ]; then
    echo "PartitionName=work Nodes=$onprem_nodes MaxTime=INFINITE State=UP" >>"$dir/etc/slurm.conf"
  fi
  # The file `cloudburst scale` and `cloudburst keep-alive` write (slurm.generated_conf), included
  # as `cloudburst setup scheduler` includes it; the testbed's own node lines stay above.
  echo "# cloudburst's generated conf: empty until cloudburst scale or keep-alive writes it" >"$dir/etc/cloudburst.conf"
  echo "Include $dir/etc/cloudburst.conf" >>"$dir/etc/slurm.conf"
  if [ "$scale" = 1 ]; then
    echo "# --scale: the emulator's VMs have this host's CPUs and memory, not their size's." >>"$dir/etc/slurm.conf"
    echo "SlurmdParameters=config_overrides" >>"$dir/etc/slurm.conf"
  fi
  if [ -n "$extra_conf" ]; then
    cat "$extra_conf" >>"$dir/etc/slurm.conf"
  fi
  onprem_list=$onprem_nodes
}

# --scale: the emulator's node arrays as Slurm nodes, written by `cloudburst scale` (as the
# operator runs it), read by a restarted slurmctld (without a slurmctld yet, a testbed of the
# template's cloud alone: slurmctld needs a partition to start, its first start); then `scale`
# again, as docs/setup.md says, creates the dynamic array's nodes in the slurmctld that has
# read their Nodeset and MaxNodeCount.
scale_from_emulator() {
  "$build/cloudburst" --config "$dir/etc/cloudburst.toml" scale >>"$dir/log/scale.log" 2>&1 ||
    die "cloudburst scale failed (see $dir/log/scale.log)"
  if [ -s "$dir/run/slurmctld.pid" ]; then stop_pidfile "$dir/run/slurmctld.pid" slurmctld; fi
  start_slurmctld
  "$build/cloudburst" --config "$dir/etc/cloudburst.toml" scale >>"$dir/log/scale.log" 2>&1 ||
    die "the second cloudburst scale (dynamic nodes) failed (see $dir/log/scale.log)"
}

# The cloud nodes for the summary: the testbed's own, and with --scale the partitions and
# nodes `cloudburst scale` made.
cloud_summary() {
  local line="${cloud_nodes:+$cloud_nodes (State=CLOUD)}" scaled
  if [ "$scale" = 1 ]; then
    scaled=$("$bin/sinfo" -h -o '%R: %N' | grep -v "^work:" | sort | paste -sd ' ')
    line="${line:+$line; }from the template: ${scaled// /; }"
    line=${line//:;/:}
  fi
  echo "$line"
}

start_slurmctld() {
  "$sbin/slurmctld" -f "$dir/etc/slurm.conf" || die "slurmctld did not start (see above and $dir/log/slurmctld.log)"
  wait_for 30 "slurmctld answering (see $dir/log/slurmctld.log)" "$bin/scontrol" ping
}

all_idle() {
  local n
  for n in "$@"; do
    "$bin/scontrol" show node -o "$n" | grep -qE 'State=(IDLE|MIXED|ALLOCATED)[ +]' || return 1
  done
}

start_onprem() {
  local names=() i
  for ((i = 1; i <= onprem; i++)); do names+=("onprem$i"); done
  record onprem_instance "tb${index}o"
  setsid "$build/tests/namespace-vms" --instance "tb${index}o" --state-dir "$dir/vms/tb${index}o" \
    --subnet "198.18.$index.0/24" --pool "198.18.$index.16/28" --bridge "$bridge" \
    --external-bridge --slurm-conf "$dir/etc/slurm.conf" --slurmd "$sbin/slurmd" \
    --ready-file "$dir/run/onprem.ready" \
    "${names[@]}" </dev/null >>"$dir/log/onprem-vms.log" 2>&1 &
  echo $! >"$dir/run/onprem-vms.pid"
  local pid=$!
  local deadline=$((SECONDS + 30))
  until [ -f "$dir/run/onprem.ready" ]; do
    kill -0 "$pid" 2>/dev/null || die "namespace-vms failed (see $dir/log/onprem-vms.log)"
    [ $SECONDS -lt $deadline ] || die "on-prem VMs not ready within 30s"
    sleep 0.1
  done
  for ((i = 1; i <= onprem; i++)); do
    grep -q "^onprem$i 198\.18\.$index\.$((15 + i)) " "$dir/run/onprem.ready" ||
      die "onprem$i did not get the address in slurm.conf (see $dir/run/onprem.ready)"
  done
  wait_for 60 "on-prem nodes registering (see $dir/log/slurmd-onprem*.log)" all_idle "${names[@]}"
}

start_emulator() {
  local emu=$build/cyclecloud-emulator i slurmd=$sbin/slurmd
  [ -x "$emu" ] || die "$emu is not built"
  # An --emulator-arg --slurmd PROGRAM (a VM's start program, e.g. cloudburst-node-start,
  # which ends in exec $CLOUDBURST_SLURMD) replaces the testbed's slurmd; with --slurm it
  # still ends in the version's slurmd.
  local args=()
  for ((i = 0; i < ${#emulator_args[@]}; i++)); do
    if [ "${emulator_args[i]}" = --slurmd ] && [ $((i + 1)) -lt ${#emulator_args[@]} ]; then
      slurmd=${emulator_args[i + 1]}
      i=$((i + 1))
      if [ "$slurm_version" != host ]; then
        printf '#!/bin/bash\n# %s ending in the testbed'"'"'s slurmd.\nCLOUDBURST_SLURMD=%q exec %q "$@"\n' \
          "$slurmd" "$sbin/slurmd" "$slurmd" >"$dir/slurm/sbin/vm-start"
        chmod 0755 "$dir/slurm/sbin/vm-start"
        slurmd=$dir/slurm/sbin/vm-start
      fi
    else
      args+=("${emulator_args[i]}")
    fi
  done
  if [ "$cluster_init" = 1 ]; then
    args+=(--cluster-init "$here/templates/cluster-init/cloudburst"
      --vm-boot "$here/scripts/emulator-vm-boot.sh" --vm-root "$vm_root"
      --sched "$dir/sched" --shared "$dir/shared" --vm-bind "$dir" --vm-bind "$build"
      --vm-munge-socket "$dir/munge/munge.socket")
  fi
  local backend_args=(--backend none)
  if [ "$emulator_backend" = none ]; then
    # The none backend's VMs are addresses only, from 198.18.0.2 up (one a node, below the
    # testbeds' bridges at 198.18.100.0 until 25,000 nodes): slurmctld's messages to them must
    # not leave the machine by the default route. An unreachable route answers them at once;
    # each testbed has its own (its index as the metric), so testbeds at once do not share one.
    record none_route "198.18.0.0/18 metric $index"
    ip route add unreachable 198.18.0.0/18 metric "$index" ||
      die "cannot add the unreachable route for the none backend's addresses"
  fi
  if [ "$emulator_backend" = namespaces ]; then
    record "vms_tb${index}c" "$dir/emulator/vms" # where its namespaces backend keeps pid files
    backend_args=(--backend namespaces --instance "tb${index}c"
      --subnet "$vm_subnet" --pool "$vm_pool" --bridge "$bridge"
      --external-bridge --slurm-conf "$dir/etc/slurm.conf" --slurmd "$slurmd")
  fi
  setsid "$emu" "${backend_args[@]}" --state-dir "$dir/emulator" \
    --ready-file "$dir/run/emulator.ready" \
    ${args[@]+"${args[@]}"} </dev/null >>"$dir/log/emulator.log" 2>&1 &
  echo $! >"$dir/run/emulator.pid"
  local pid=$!
  local deadline=$((SECONDS + 30))
  until [ -s "$dir/run/emulator.ready" ]; do
    kill -0 "$pid" 2>/dev/null || die "cyclecloud-emulator failed (see $dir/log/emulator.log)"
    [ $SECONDS -lt $deadline ] || die "cyclecloud-emulator not ready within 30s"
    sleep 0.1
  done
  # "ready url=... cluster=... [ca=...] [tls-pin=...] credentials=... user=... state-dir=... pid=..."
  emulator_ready=$(head -n 1 "$dir/run/emulator.ready")
}

# --cluster-init: the scheduler's /sched and /shared as `cloudburst setup scheduler` leaves
# them (src/cli/setup_command.cpp: ensure_munge_key, ensure_node_environment; the file's
# format is core/scheduler_setup.cpp's node_environment_file): /sched/<cluster> with the
# nodes' settings and the munge key, 0400 and owned by munge (the nodes read it as munge).
write_sched() {
  local cluster escaped version
  cluster=$(emulator_field cluster)
  escaped=$(printf '%s' "${cluster,,}" | sed 's/[^a-z0-9-]/-/g')
  if [ "$vm_root" = / ]; then
    version=$(dpkg-query -W -f='${Version}' slurmctld)
  else
    version=$(dpkg-query --admindir="$vm_root/var/lib/dpkg" -W -f='${Version}' slurmctld)
  fi
  install -d -m 0755 "$dir/sched" "$dir/sched/$escaped" "$dir/shared"
  cat >"$dir/sched/$escaped/cloudburst-node.env" <<EOF
# Written by testbed.sh as \`cloudburst setup scheduler\` writes it for the burst nodes'
# cluster-init (templates/cluster-init). KEY=VALUE lines; read, never sourced.
CLUSTER=$cluster
SLURMCTLD_HOST=$(hostname -s)
SLURMCTLD_ADDR=198.18.$index.1
SLURMCTLD_PORT=$(recorded slurmctld_port)
SLURM_VERSION=$version
SLURM_UID=$(id -u slurm)
SLURM_GID=$(id -g slurm)
MUNGE_UID=$(id -u munge)
MUNGE_GID=$(id -g munge)
EOF
  chmod 0644 "$dir/sched/$escaped/cloudburst-node.env"
  install -m 0400 -o munge -g munge "$dir/munge/munge.key" "$dir/sched/$escaped/munge.key"
}

# cloudburst as a package installs it (docs/configuration.md): the config next to slurm.conf,
# root:root 0644 and without a secret; the emulator's password in a root:root 0600 file; the
# daemon as slurm, its journal, spool and socket in DIR/cloudburst and its log in
# DIR/log/cloudburst (both slurm's), the password handed to it as systemd's LoadCredential=
# does (start_cloudburstd).
write_cloudburst_conf() {
  local daemon=$build/cloudburstd ca
  [ -x "$daemon" ] || die "$daemon is not built"
  install -d -o "$slurm_user" -g "$slurm_user" -m 0755 "$dir/cloudburst" "$dir/log/cloudburst"
  (umask 077 && cut -d: -f2- "$(emulator_field credentials)" | head -n 1 >"$dir/etc/cloudburst.password")
  ca=$(emulator_field ca)
  if [ -n "$ca" ]; then
    # The emulator keeps its CA in its private state directory; the daemon (slurm) reads a
    # public copy, as a site installs CycleCloud's certificate.
    install -m 0644 "$ca" "$dir/etc/cyclecloud-ca.pem"
    ca=$dir/etc/cyclecloud-ca.pem
  fi
  record metrics_port "$(free_port)" # cloudburstd's metrics (docs/operations.md)
  {
    echo "# Written by testbed.sh for the emulator of this testbed."
    echo "[cyclecloud]"
    echo "url = \"$(emulator_field url)\""
    echo "cluster = \"$(emulator_field cluster)\""
    echo "username = \"$(emulator_field user)\""
    echo "password_file = \"$dir/etc/cloudburst.password\""
    if [ -n "$ca" ]; then echo "ca_bundle = \"$ca\""; fi
    echo
    echo "[slurm]"
    echo "user = \"$slurm_user\""
    echo "conf_dir = \"$dir/etc\""
    echo "bin_dir = \"$bin\""
    echo
    echo "[paths]"
    echo "spool_dir = \"$dir/cloudburst/spool\""
    echo "state_db = \"$dir/cloudburst/state.db\""
    echo "log_dir = \"$dir/log/cloudburst\""
    echo "socket = \"$dir/cloudburst/cloudburstd.sock\""
    echo
    echo "[metrics]"
    echo "listen = \"127.0.0.1:$(recorded metrics_port)\""
    echo
    echo "[events]"
    echo "file = \"$dir/log/cloudburst/events.jsonl\""
    echo
    echo "[daemon]"
    echo "sync_period = \"2s\""
    if [ -n "$cloudburst_conf" ]; then cat "$cloudburst_conf"; fi
  } >"$dir/etc/cloudburst.toml"
  chmod 0644 "$dir/etc/cloudburst.toml"
}

# Starts cloudburstd as the packaged unit does (User=slurm,
# LoadCredential=cyclecloud.password:DIR/etc/cloudburst.password): systemd copies the
# credential into a directory of the service's own, the file owned by the service's user and
# mode 0400, and names the directory in $CREDENTIALS_DIRECTORY. tests/system/testbed.cpp
# (start_daemon) and tests/soak/run.sh start it again the same way.
start_cloudburstd() {
  local creds=$dir/credentials
  rm -rf "$creds"
  install -d -o "$slurm_user" -g "$slurm_user" -m 0500 "$creds"
  install -o "$slurm_user" -g "$slurm_user" -m 0400 "$dir/etc/cloudburst.password" \
    "$creds/cyclecloud.password"
  SLURM_CONF=$dir/etc/slurm.conf CREDENTIALS_DIRECTORY=$creds setsid \
    setpriv --reuid="$slurm_user" --regid="$slurm_user" --init-groups \
    "$build/cloudburstd" --config "$dir/etc/cloudburst.toml" \
    </dev/null >>"$dir/log/cloudburstd.out" 2>&1 &
  echo $! >"$dir/run/cloudburstd.pid"
  local pid=$!
  local deadline=$((SECONDS + 30))
  until [ -S "$dir/cloudburst/cloudburstd.sock" ]; do
    kill -0 "$pid" 2>/dev/null || die "cloudburstd failed (see $dir/log/cloudburstd.out)"
    [ $SECONDS -lt $deadline ] || die "cloudburstd not ready within 30s"
    sleep 0.1
  done
}

# The hooks where slurmctld (as slurm) can run them whatever the build directory's path and
# modes: a root-owned copy, as `make install` would put into libexec.
install_hooks() {
  local h
  install -d -m 0755 "$dir/libexec"
  for h in cloudburst-resume cloudburst-suspend cloudburst-resume-fail cloudburst-prolog; do
    [ -x "$build/$h" ] || die "$build/$h is not built"
    install -m 0755 "$build/$h" "$dir/libexec/$h"
  done
}

# A field of the emulator's ready line.
emulator_field() { tr ' ' '\n' <<<"$emulator_ready" | sed -n "s/^$1=//p"; }

write_env() {
  cat >"$dir/testbed.env" <<EOF
export SLURM_CONF='$dir/etc/slurm.conf'
export CB_TESTBED_DIR='$dir'
export CB_TESTBED_PREFIX='tb$index'
export CB_TESTBED_BRIDGE='$bridge'
export CB_TESTBED_SUBNET='198.18.$index.0/24'
export CB_TESTBED_GATEWAY='198.18.$index.1'
export CB_TESTBED_TEST_POOL='198.18.$index.64/26'
export CB_TESTBED_EMULATOR_POOL='$vm_pool'
export CB_TESTBED_SLURMCTLD='$(hostname -s):$(recorded slurmctld_port)'
export CB_TESTBED_CLOUD_NODES='$cloud_nodes'
export CB_TESTBED_ONPREM_NODES='$onprem_list'
export CB_TESTBED_MUNGE_SOCKET='$dir/munge/munge.socket'
export CB_TESTBED_HOOKS_LOG='$dir/log/hooks.log'
export CB_TESTBED_SLURM_USER='$slurm_user'
export CB_TESTBED_SLURM_VERSION='$slurm_version'
export CB_TESTBED_SLURM_BIN='$bin'
export CB_TESTBED_SLURM_SBIN='$sbin'
export CB_TESTBED_EMULATOR_URL='$(emulator_field url)'
export CB_TESTBED_EMULATOR_CLUSTER='$(emulator_field cluster)'
export CB_TESTBED_EMULATOR_CA='$(emulator_field ca)'
export CB_TESTBED_EMULATOR_TLS_PIN='$(emulator_field tls-pin)'
export CB_TESTBED_EMULATOR_CREDENTIALS='$(emulator_field credentials)'
export CB_TESTBED_EMULATOR_USER='$(emulator_field user)'
EOF
  if [ "$with_cloudburst" = 1 ]; then
    echo "export CLOUDBURST_CONFIG='$dir/etc/cloudburst.toml'" >>"$dir/testbed.env"
    echo "export CLOUDBURST_METRICS_URL='http://127.0.0.1:$(recorded metrics_port)/metrics'" >>"$dir/testbed.env"
  fi
  if [ "$slurm_version" != host ]; then
    echo "export PATH='$bin':\"\$PATH\"" >>"$dir/testbed.env"
  fi
}

up() {
  local cred_expire=""
  local cloud_nodes="" cloud_nodes_given=0 onprem=0 resume_timeout=60 suspend_time=300 suspend_timeout=10
  local cloud_reg_addrs=0 extra_conf="" with_emulator=0 build=$here/build
  local with_cloudburst=0 cloudburst_conf="" scale=0
  local resume_program="" suspend_program="" resume_fail_program=""
  local prolog_gate=1 prolog_program=""
  local index="" bridge="" onprem_list="" emulator_ready="" slurm_user=slurm
  local slurm_version=host sbin=/usr/sbin bin=/usr/bin plugin_dir=""
  local cluster_init=${CB_TESTBED_CLUSTER_INIT:-1} vm_root=/ emulator_backend=namespaces
  emulator_args=()
  while [ $# -gt 0 ]; do
    case "$1" in
      --cloud-nodes) cloud_nodes=$2; cloud_nodes_given=1; shift ;;
      --onprem) onprem=$2; shift ;;
      --resume-program) resume_program=$2; shift ;;
      --suspend-program) suspend_program=$2; shift ;;
      --resume-fail-program) resume_fail_program=$2; shift ;;
      --resume-timeout) resume_timeout=$2; shift ;;
      --suspend-time) suspend_time=$2; shift ;;
      --suspend-timeout) suspend_timeout=$2; shift ;;
      --cred-expire) cred_expire=$2; shift ;;
      --cloud-reg-addrs) cloud_reg_addrs=1 ;;
      --extra-conf) extra_conf=$(realpath "$2"); shift ;;
      --emulator) with_emulator=1 ;;
      --emulator-arg) emulator_args+=("$2"); shift ;;
      --emulator-backend) emulator_backend=$2; shift ;;
      --cluster-init) cluster_init=1 ;;
      --no-cluster-init) cluster_init=0 ;;
      --cloudburst) with_cloudburst=1; with_emulator=1 ;;
      --no-prolog-gate) prolog_gate=0 ;;
      --cloudburst-conf) cloudburst_conf=$(realpath "$2"); shift ;;
      --scale) scale=1 ;;
      --build) build=$(realpath "$2"); shift ;;
      --slurm) slurm_version=$2; shift ;;
      *) die "unknown option '$1' (see: $0 --help)" ;;
    esac
    shift
  done
  if [ "$cloud_nodes_given" = 0 ] && [ "$with_cloudburst" = 1 ]; then
    # The template's cloud (see --scale): these parameters first, so the caller's -p win.
    scale=1
    emulator_args=(-p HPCMachineType=Standard_HB120rs_v3 -p MaxHPCExecuteCoreCount=480
      -p GPUMachineType=Standard_NC48ads_A100_v4
      -p MaxGPUExecuteCoreCount=96 -p GPUCount=2 ${emulator_args[@]+"${emulator_args[@]}"})
  elif [ "$cloud_nodes_given" = 0 ]; then
    cloud_nodes='cloud[1-4]'
  fi
  if ! [[ "$onprem" =~ ^[0-9]+$ ]] || [ "$onprem" -gt 16 ]; then die "--onprem takes 0 to 16"; fi
  local hostlist_chars='^[][A-Za-z0-9._,-]+$'
  [ -z "$cloud_nodes" ] || [[ "$cloud_nodes" =~ $hostlist_chars ]] || die "--cloud-nodes: not a hostlist: $cloud_nodes"
  case "$emulator_backend" in
    namespaces) ;;
    none) cluster_init=0 ;; # nothing boots
    *) die "--emulator-backend takes namespaces (the default) or none" ;;
  esac
  [ "$(id -u)" = 0 ] || die "run as root (namespaces, bridges, daemons)"
  case "$slurm_version" in
    host|22.05) slurm_version=host ;;
    24.11) ;;
    *) die "--slurm takes host (the default; 22.05 on Debian 12) or 24.11" ;;
  esac
  local b
  for b in /usr/sbin/slurmctld /usr/sbin/slurmd /usr/sbin/munged /usr/sbin/ip /usr/bin/scontrol \
    /usr/bin/setpriv; do
    [ -x "$b" ] || die "$b is missing: run scripts/install-deps.sh"
  done
  id -u "$slurm_user" >/dev/null 2>&1 ||
    die "there is no user '$slurm_user' (SlurmUser; the slurmctld package creates it)"
  [ "$scale" = 0 ] || [ "$with_cloudburst" = 1 ] || die "--scale needs --cloudburst"
  if [ "$onprem" -gt 0 ] || { [ "$with_emulator" = 1 ] && [ "$emulator_backend" = namespaces ]; }; then
    [ -x "$build/tests/namespace-vms" ] ||
      die "$build/tests/namespace-vms is not built: cmake --build $build --target namespace-vms"
  fi
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  [[ "$dir" =~ ^/[A-Za-z0-9._/-]+$ ]] || die "DIR may only contain letters, digits and ._-/"
  [ ! -e "$dir/testbed.state" ] || die "$dir holds a testbed already; run: $0 down $dir"
  chmod 0755 "$dir"
  # A testbed that was up here before starts afresh, its emulator's VMs and cloudburstd's journal
  # gone too (its logs are kept and appended to).
  rm -rf "$dir/state" "$dir/spool" "$dir/run" "$dir/munge" "$dir/vms" "$dir/testbed.state.down" \
    "$dir/credentials" "$dir/libexec" "$dir/slurm" "$dir/sched" "$dir/shared" "$dir/emulator" \
    "$dir/cloudburst"
  install -d -m 0755 "$dir/log" "$dir/vms"
  : >"$dir/testbed.state"
  record build "$build"
  record slurm "$slurm_version"
  trap 'if [ $? -ne 0 ]; then note "up failed; cleaning up"; down; fi' EXIT
  trap 'exit 130' INT TERM HUP
  if [ "$with_cloudburst" = 1 ]; then
    install_hooks
    resume_program=${resume_program:-$dir/libexec/cloudburst-resume}
    suspend_program=${suspend_program:-$dir/libexec/cloudburst-suspend}
    resume_fail_program=${resume_fail_program:-$dir/libexec/cloudburst-resume-fail}
    if [ "$prolog_gate" = 1 ]; then prolog_program=$dir/libexec/cloudburst-prolog; fi
  fi
  resume_program=${resume_program:-$dir/bin/resume}
  suspend_program=${suspend_program:-$dir/bin/suspend}
  resume_fail_program=${resume_fail_program:-$dir/bin/resume-fail}

  if [ "$slurm_version" != host ]; then
    local root
    root=$(bash "$here/scripts/slurm-root.sh" "$slurm_version") || die "no Slurm $slurm_version root"
    setup_slurm_root "$root"
    vm_root=$root
  fi
  vm_count=0
  if [ "$with_emulator" = 1 ] && [ "$emulator_backend" = namespaces ] && [ -n "$cloud_nodes" ]; then
    vm_count=$("$build/cloudburst" hostlist expand "$cloud_nodes" | wc -l) ||
      die "--cloud-nodes: not a hostlist: $cloud_nodes"
  fi
  make_bridge
  start_munge
  write_configs
  export SLURM_CONF=$dir/etc/slurm.conf
  # slurmctld starts only with a partition: with the template's cloud alone, after scale.
  if [ -n "$cloud_nodes" ] || [ "$onprem" -gt 0 ]; then start_slurmctld; fi
  if [ "$onprem" -gt 0 ]; then start_onprem; fi
  if [ "$with_emulator" = 1 ]; then start_emulator; fi
  if [ "$cluster_init" = 1 ] && [ "$with_emulator" = 1 ]; then write_sched; fi
  if [ "$with_cloudburst" = 1 ]; then write_cloudburst_conf; fi
  if [ "$scale" = 1 ]; then scale_from_emulator; fi
  if [ "$with_cloudburst" = 1 ]; then start_cloudburstd; fi
  write_env
  local cloudburst_line=""
  if [ "$with_cloudburst" = 1 ]; then
    cloudburst_line="cloudburstd pid $(cat "$dir/run/cloudburstd.pid"), config $dir/etc/cloudburst.toml"
  fi
  trap - EXIT INT TERM HUP
  cat <<EOF
testbed up in $dir: bridge $bridge (198.18.$index.1/24), slurmctld on port $(recorded slurmctld_port)
  Slurm:        $("$bin/scontrol" -V)$([ "$slurm_version" = host ] || echo " (daemons: $sbin)")
  cloud nodes:  $(cloud_summary)
  on-prem:      ${onprem_list:-none}
  emulator:     ${emulator_ready:-not started}
  cloudburst:   ${cloudburst_line:-not started}
Use it:   . $dir/testbed.env      (sets SLURM_CONF=$dir/etc/slurm.conf)
          sinfo; scontrol show node -o
Logs:     $dir/log/ (slurmctld.log, slurmd-NODE.log, munged.log, hooks.log, cloudburst/)
Stop it:  $0 down $dir
EOF
}

[ $# -ge 2 ] || usage
cmd=$1
dir=$2
shift 2
case "$cmd" in
  up) up "$@" ;;
  down) [ $# -eq 0 ] || die "down takes only DIR"; down ;;
  *) usage ;;
esac
