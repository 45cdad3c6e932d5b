#!/bin/bash
# cloudburst cluster-init for burst nodes. CycleCloud runs it as root at every boot
# (converge_on_boot), after mounting /sched and /shared; it is safe to rerun.
#
#  1. reads /sched/<cluster>/cloudburst-node.env, written by `cloudburst setup scheduler`
#     (controller address and port, Slurm package version, pinned UIDs/GIDs);
#  2. creates the slurm and munge accounts with those IDs (and stops if they exist with
#     other IDs: files they own would not match the scheduler's);
#  3. installs slurmd and munge of the scheduler's Slurm version, unless that version is
#     installed already (an image built for the cluster; the emulator's VMs, which cannot
#     install packages, docs/emulator.md);
#  4. copies the munge key from /sched as the munge user (/sched is read-only with root
#     squashed: root here cannot read it), sets the host name to the node name;
#  5. checks that the VM sees the GPUs its size promises (jetpack's cloudburst.gpus, 0 when
#     unset: cloudburst-node-start --check-gpus), so that a node short of GPUs fails its
#     boot with the reason in CycleCloud's status message, before Slurm sees it;
#  6. starts slurmd configless (`--conf-server`) through cloudburst-node-start, which runs
#     the health check (the GPUs again) and only then becomes `slurmd -b -N <node name>`;
#     on a node of a dynamic array (jetpack's slurm.dynamic_config, the template's
#     `-Z --conf "Feature=dyn"`) `slurmd -Z --conf "Feature=<its features>,<VM size>,<array>"`
#     (`cloudburst scale` has created the node in slurmctld; docs/setup.md).
#
# Reference it from the cluster template (templates/slurm-headless.txt) as
#   [[[cluster-init cloudburst:execute:0.1.0]]]
# after `cyclecloud project upload` of templates/cluster-init/cloudburst.
set -euo pipefail

jetpack=/opt/cycle/jetpack/bin/jetpack
spec_files=${CYCLECLOUD_SPEC_PATH:-$(dirname "$0")/..}/files
bin_dir=/opt/cloudburst/bin

log() { echo "cloudburst cluster-init: $*"; }
die() {
  echo "cloudburst cluster-init: error: $*" >&2
  exit 1
}

node=$("$jetpack" config cyclecloud.node.name)
cluster=$("$jetpack" config cyclecloud.cluster.name)
node=${node,,}
# The name goes into the host name and slurmd's unit: a DNS label and nothing else.
[[ $node =~ ^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$ ]] ||
  die "the node name from jetpack is not a host name: ${node@Q}"
escaped=$(printf '%s' "${cluster,,}" | sed 's/[^a-z0-9-]/-/g')
sched=/sched/$escaped
env_file=$sched/cloudburst-node.env
[ -r "$env_file" ] || die "$env_file is missing: is /sched mounted from the scheduler, and did \`cloudburst setup scheduler --cluster $cluster\` run there?"
# Root acts on it: it must be root's and writable by nobody else (setup writes it 0644).
read -r env_uid env_mode < <(stat -L -c '%u %a' "$env_file")
if [ "$env_uid" != 0 ] || (((8#$env_mode & 8#022) != 0)); then
  die "$env_file must be owned by root and writable only by root (it is uid $env_uid, mode $env_mode)"
fi

# KEY=VALUE lines, read (once; the last of a key wins), never sourced.
declare -A settings=()
while IFS= read -r line || [ -n "$line" ]; do
  if [[ $line =~ ^([A-Z_]+)=(.*)$ ]]; then settings[${BASH_REMATCH[1]}]=${BASH_REMATCH[2]}; fi
done <"$env_file"
setting() {
  [ -n "${settings[$1]:-}" ] || die "$env_file has no $1"
  printf '%s' "${settings[$1]}"
}
ctld_addr=$(setting SLURMCTLD_ADDR)
# setup writes an IPv4 address (the nodes reach slurmctld without DNS); it goes into the unit.
[[ $ctld_addr =~ ^[0-9]{1,3}(\.[0-9]{1,3}){3}$ ]] ||
  die "$env_file: SLURMCTLD_ADDR is not an IPv4 address: ${ctld_addr@Q}"
# Files written before SLURMCTLD_PORT existed mean Slurm's default port.
ctld_port=${settings[SLURMCTLD_PORT]:-6817}
if ! [[ $ctld_port =~ ^[0-9]{1,5}$ ]] || ((10#$ctld_port < 1 || 10#$ctld_port > 65535)); then
  die "$env_file: SLURMCTLD_PORT is not a port number: ${ctld_port@Q}"
fi
slurm_version=$(setting SLURM_VERSION)
# GPUs the VM size has (the node array's configuration; cloudburst scale writes as many
# device files into gres.conf).
gpus=$("$jetpack" config cloudburst.gpus 0)
[[ $gpus =~ ^[0-9]{1,3}$ ]] || die "jetpack's cloudburst.gpus is not a number of GPUs: ${gpus@Q}"
gpus=$((10#$gpus))

# A dynamic array's nodes run slurmd -Z. Its setting is read, never run: -Z, optionally
# with --conf "Key=value ..." (words of letters, digits and . _ , : / + -), the Feature
# word getting the VM size and the array's name (the Nodeset `cloudburst scale` writes
# matches the array's name).
dynamic_config=$("$jetpack" config slurm.dynamic_config "")
dynamic_args=()
if [ -n "$dynamic_config" ]; then
  bad_dynamic() {
    die "jetpack's slurm.dynamic_config ${dynamic_config@Q} $1: expected -Z, optionally followed by --conf \"Key=value ...\" (as the template's -Z --conf \"Feature=dyn\")"
  }
  conf_words=""
  if [[ $dynamic_config =~ ^-Z[[:space:]]*$ ]]; then
    conf_words=""
  elif [[ $dynamic_config =~ ^-Z[[:space:]]+--conf(=|[[:space:]]+)\"([^\"]*)\"[[:space:]]*$ ]]; then
    conf_words=${BASH_REMATCH[2]}
  elif [[ $dynamic_config =~ ^-Z[[:space:]]+--conf(=|[[:space:]]+)([^[:space:]\"]+)[[:space:]]*$ ]]; then
    conf_words=${BASH_REMATCH[2]}
  else
    bad_dynamic "is not of that form"
  fi
  vm_size=$("$jetpack" config azure.metadata.compute.vmSize "")
  [[ $vm_size =~ ^[A-Za-z0-9._-]{1,63}$ ]] ||
    die "jetpack's azure.metadata.compute.vmSize is not a VM size: ${vm_size@Q}"
  array=$("$jetpack" config cyclecloud.node.template "")
  [[ -z $array || $array =~ ^[A-Za-z0-9._-]{1,63}$ ]] ||
    die "jetpack's cyclecloud.node.template is not a node array name: ${array@Q}"
  features=""
  read -r -a words <<<"$conf_words"
  for word in ${words[@]+"${words[@]}"}; do
    [[ $word =~ ^([A-Za-z]+)=([A-Za-z0-9._,:/+-]+)$ ]] || bad_dynamic "has --conf word ${word@Q}"
    case "${BASH_REMATCH[1],,}" in
      feature | features) features+=${features:+,}${BASH_REMATCH[2]} ;;
      *) dynamic_args+=(--dynamic "$word") ;;
    esac
  done
  features+=${features:+,}$vm_size${array:+,$array}
  dynamic_args=(--dynamic "Feature=$features" ${dynamic_args[@]+"${dynamic_args[@]}"})
fi

pin_account() { # name uid gid
  local name=$1 uid=$2 gid=$3 holder
  if getent group "$name" >/dev/null; then
    [ "$(getent group "$name" | cut -d: -f3)" = "$gid" ] ||
      die "group $name exists with GID $(getent group "$name" | cut -d: -f3), the scheduler uses $gid"
  else
    holder=$(getent group "$gid" | cut -d: -f1) || true # getent exits 2: no such group
    [ -z "$holder" ] || die "group $name cannot have GID $gid, the scheduler's: group $holder has it"
    groupadd --system --gid "$gid" "$name"
  fi
  if getent passwd "$name" >/dev/null; then
    [ "$(id -u "$name")" = "$uid" ] || die "user $name exists with UID $(id -u "$name"), the scheduler uses $uid"
  else
    holder=$(getent passwd "$uid" | cut -d: -f1) || true # exits 2: no such user
    [ -z "$holder" ] || die "user $name cannot have UID $uid, the scheduler's: user $holder has it"
    useradd --system --uid "$uid" --gid "$gid" --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin "$name"
  fi
}
munge_uid=$(setting MUNGE_UID)
munge_gid=$(setting MUNGE_GID)
slurm_uid=$(setting SLURM_UID)
slurm_gid=$(setting SLURM_GID)
pin_account munge "$munge_uid" "$munge_gid"
pin_account slurm "$slurm_uid" "$slurm_gid"

# The template mounts /sched ro,nosuid,nodev,noexec and /shared nosuid,nodev; say so if a
# site's mount does not.
for mount in "/sched ro nosuid nodev noexec" "/shared nosuid nodev"; do
  read -r point wanted <<<"$mount"
  options=$(findmnt -n -o OPTIONS --mountpoint "$point" 2>/dev/null || true)
  for want in $wanted; do
    [[ ",$options," == *",$want,"* ]] ||
      log "warning: $point is mounted without $want (options: ${options:-not mounted}): use the mount options of templates/slurm-headless.txt"
  done
done

# shellcheck source=/dev/null
. /etc/os-release
case "${ID} ${ID_LIKE:-}" in
  *debian* | *ubuntu*)
    if ! dpkg-query -W -f='${Version}' slurmd 2>/dev/null | grep -qxF "$slurm_version"; then
      log "installing slurmd $slurm_version and munge"
      apt-get update -q
      DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        "slurmd=$slurm_version" "slurm-client=$slurm_version" munge ||
        die "slurmd $slurm_version is not available here: use the scheduler's OS image for the burst nodes"
    fi
    defaults=/etc/default/slurmd
    ;;
  *rhel* | *almalinux* | *rocky* | *fedora*)
    if ! rpm -q "slurm-slurmd-$slurm_version" >/dev/null 2>&1; then
      log "installing slurm-slurmd $slurm_version and munge"
      rpm -q epel-release >/dev/null 2>&1 || dnf install -y epel-release
      dnf install -y "slurm-$slurm_version" "slurm-slurmd-$slurm_version" munge ||
        die "slurm-slurmd $slurm_version is not available here: use the scheduler's OS image for the burst nodes"
    fi
    defaults=/etc/sysconfig/slurmd
    ;;
  *) die "unsupported operating system ${PRETTY_NAME:-$ID}" ;;
esac

# As the munge user: root is squashed on /sched and cannot read the key.
installed=$(bash "$spec_files/cloudburst-install-munge-key" "$sched/munge.key" /etc/munge \
  "$munge_uid" "$munge_gid")
[ -z "$installed" ] || log "munge key installed from $sched/munge.key"
systemctl enable munge
systemctl restart munge

if [ "$(hostname)" != "$node" ]; then
  log "host name $(hostname) -> $node"
  hostnamectl set-hostname "$node"
fi

install -d -m 0755 "$bin_dir" /etc/systemd/system/slurmd.service.d
install -m 0755 "$spec_files/cloudburst-node-start" "$bin_dir/cloudburst-node-start"
if ((gpus > 0)); then
  "$bin_dir/cloudburst-node-start" --check-gpus "$gpus" || exit 1
  log "the VM sees its $gpus GPUs"
fi
# Configless: slurmd fetches slurm.conf (and its Includes) from slurmctld.
echo "SLURMD_OPTIONS=" >"$defaults"
cat >/etc/systemd/system/slurmd.service.d/cloudburst.conf <<UNIT
# Written by cloudburst's cluster-init: health check first, then slurmd -b -N $node$([ ${#dynamic_args[@]} = 0 ] || echo " -Z").
# A configless node has no /etc/slurm/slurm.conf (Debian 12's unit requires one: cleared),
# and slurmd runs in the foreground without --systemd (Debian 13's unit is Type=notify).
[Unit]
After=munge.service network-online.target remote-fs.target
Wants=network-online.target
ConditionPathExists=
[Service]
Type=simple
ExecStart=
ExecStart=$bin_dir/cloudburst-node-start --gpus $gpus ${dynamic_args[*]} -D -b -N $node --conf-server $ctld_addr:$ctld_port
UNIT
systemctl daemon-reload
systemctl enable slurmd
systemctl restart slurmd
log "slurmd started as $node (configless from $ctld_addr${dynamic_config:+, dynamic: ${dynamic_args[*]}})"
