#!/usr/bin/env bash
# Chaos soak of the burst stack (issue 5). As root:
#
#   tests/soak/run.sh [--minutes N] [--build DIR] [--seed N] [--keep]
#
# Brings up a testbed (scripts/testbed.sh: real slurmctld, the CycleCloud emulator with
# namespace VMs running real slurmd, cloudburstd and its hooks) with two node arrays (hpc on
# Standard_F2s_v2; htc on Spot Standard_D2s_v5, deallocated on suspend), then for N minutes
# (default 10; fractions allowed) submits random short batch jobs across the partitions
# while the emulator injects every fault class at modest rates, switched on and off at run
# time (among them the ways real CycleCloud fails late, issue 12: capacity and Azure-only
# quota failing nodes in Acquiring, nodes stuck in Acquiring, a health event failing a Ready
# node, a node going Unavailable, a Spot eviction notice, KeepAlive set by an admin and
# cleared again, an invalid bucket), and kills cloudburstd with SIGKILL twice (at 1/3 and
# 2/3) and restarts it. Then it
# clears the faults, waits for the queue to drain and the idle nodes to power down, and
# checks:
#
#   jobs       every submitted job completed (state COMPLETED and its marker file written)
#   leaks      no VM in the cloud for a node Slurm considers powered down, no VM for a name
#              Slurm does not know (after the settle period, which covers the grace periods)
#   down~      no cloud node left DOWN (or DRAIN, or FAIL)
#   journal    `cloudburst nodes --json`: every powered-down node is idle in the journal and
#              has no VM; every node up is running with a Ready VM; nothing left in flight
#
# It prints the counts (jobs, faults injected by class, recoveries, leaks) and exits 0 only
# if every check passed (1 otherwise, 77 if it cannot run here). The testbed directory is
# removed at the end unless --keep is given (its logs are in DIR/log).
set -euo pipefail

here=$(cd "$(dirname "$0")/../.." && pwd)
prog=soak
minutes=10
build=$here/build
seed=$RANDOM
keep=0

die() {
  echo "$prog: error: $*" >&2
  exit 1
}
note() { echo "$prog: $(date -u +%H:%M:%S) $*"; }

while [ $# -gt 0 ]; do
  case "$1" in
    --minutes) minutes=$2; shift ;;
    --build) build=$(realpath "$2"); shift ;;
    --seed) seed=$2; shift ;;
    --keep) keep=1 ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option '$1' (see: $0 --help)" ;;
  esac
  shift
done
[[ "$minutes" =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "--minutes takes a number, not '$minutes'"
[[ "$seed" =~ ^[0-9]+$ ]] || die "--seed takes a number"
if [ "$(id -u)" != 0 ]; then
  echo "$prog: skipped: needs root (namespaces, bridges, Slurm daemons)" >&2
  exit 77
fi
for b in cloudburstd cloudburst cloudburst-resume cyclecloud-emulator tests/namespace-vms; do
  [ -x "$build/$b" ] || die "$build/$b is not built (cmake --build $build)"
done
command -v jq >/dev/null || die "jq is missing (scripts/install-deps.sh installs it)"
RANDOM=$seed
run_seconds=$(awk -v m="$minutes" 'BEGIN { printf "%d", m * 60 }')

dir=$(mktemp -d /tmp/cb-soak.XXXXXX)
chmod 0755 "$dir"
cleanup() {
  local rc=$?
  if [ -e "$dir/tb/testbed.state" ]; then
    bash "$here/scripts/testbed.sh" down "$dir/tb" >/dev/null 2>&1 ||
      echo "$prog: testbed down failed; see $dir" >&2
  fi
  if [ "$keep" = 1 ]; then
    echo "$prog: kept $dir (logs in $dir/tb/log)"
  else
    rm -rf "$dir"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# --- the testbed -------------------------------------------------------------------------

resume_timeout=45
suspend_time=20
mkdir -p "$dir/soak" "$dir/jobs"
chmod 0777 "$dir/jobs"
cat >"$dir/soak/slurm-extra.conf" <<EOF
# Completed jobs stay in slurmctld's memory for the checks (no accounting database here).
MinJobAge=3600
PartitionName=hpc Nodes=hpc-[1-6] SuspendTime=$suspend_time MaxTime=INFINITE State=UP
PartitionName=htc Nodes=htc-[1-6] SuspendTime=$suspend_time MaxTime=INFINITE State=UP
EOF
# Appended to the testbed's [daemon] section: orphans go well within the settle period.
cat >"$dir/soak/cloudburst-extra.toml" <<EOF
orphan_grace = "60s"

[nodearrays.htc]
shutdown = "deallocate"
EOF
note "bringing up the testbed in $dir (seed $seed, $minutes min)"
bash "$here/scripts/testbed.sh" up "$dir/tb" --build "$build" --cloudburst \
  --cloud-nodes 'hpc-[1-6],htc-[1-6]' --resume-timeout "$resume_timeout" \
  --suspend-time "$suspend_time" --suspend-timeout 10 --cred-expire 15 \
  --extra-conf "$dir/soak/slurm-extra.conf" --cloudburst-conf "$dir/soak/cloudburst-extra.toml" \
  --emulator-arg -p --emulator-arg HTCMachineType=Standard_D2s_v5 \
  --emulator-arg -p --emulator-arg HTCUseLowPrio=true \
  --emulator-arg --seed --emulator-arg "$seed" >"$dir/soak/up.log" 2>&1 ||
  { cat "$dir/soak/up.log" >&2; die "testbed up failed"; }
tb=$dir/tb
# shellcheck disable=SC1091
. "$tb/testbed.env"
emulator() {
  "$build/cyclecloud-emulator" "$1" --url "$CB_TESTBED_EMULATOR_URL" --ca "$CB_TESTBED_EMULATOR_CA" \
    --credentials "$CB_TESTBED_EMULATOR_CREDENTIALS" "${@:2}"
}
fault() { emulator fault "$@" >/dev/null || note "setting faults $* failed"; }
# The down path of the testbed must find the daemon we restart: same pid file.
daemon_pid() { head -c 32 "$tb/run/cloudburstd.pid" | tr -dc 0-9; }
# As testbed.sh starts it: as SlurmUser, the password as a systemd credential (LoadCredential=).
start_daemon() {
  SLURM_CONF=$SLURM_CONF CREDENTIALS_DIRECTORY=$tb/credentials setsid \
    setpriv --reuid="$CB_TESTBED_SLURM_USER" --regid="$CB_TESTBED_SLURM_USER" --init-groups \
    "$build/cloudburstd" --config "$tb/etc/cloudburst.toml" \
    </dev/null >>"$tb/log/cloudburstd.out" 2>&1 &
  echo $! >"$tb/run/cloudburstd.pid"
  disown # we SIGKILL it later; bash need not report that
}
kill_daemon() {
  local pid
  pid=$(daemon_pid)
  if [ -z "$pid" ] || ! tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "$tb/"; then
    note "cloudburstd is not running (pid '$pid')"
    return 1
  fi
  kill -KILL "$pid"
  while [ -e "/proc/$pid" ] && [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ]; do
    sleep 0.1
  done
}

# --- chaos ---------------------------------------------------------------------------------

partitions=(cloud hpc htc work)
submitted=0
submit_errors=0
kills=0
restarts=0
declare -A seen_down=()

submit_job() {
  local part=${partitions[RANDOM % ${#partitions[@]}]} nodes=$((1 + RANDOM % 2)) secs=$((1 + RANDOM % 8))
  local id
  if id=$(sbatch --parsable --requeue -p "$part" -N "$nodes" -o /dev/null -J "soak-$part" \
    --wrap "sleep $secs; touch $dir/jobs/\$SLURM_JOB_ID.done" 2>>"$dir/soak/sbatch.err"); then
    echo "$id" >>"$dir/soak/jobs"
    submitted=$((submitted + 1))
  else
    submit_errors=$((submit_errors + 1))
  fi
}

# Jobs in the queue; a large number when squeue fails (a busy slurmctld is not an empty queue).
queued() {
  local out
  if out=$(squeue -h -o %i 2>/dev/null); then
    grep -c . <<<"$out" || true
  else
    echo 999999
  fi
}

# Every cloud node's state flags, "NAME STATE" per line.
node_states() {
  scontrol show node -o 2>/dev/null | sed -n 's/^NodeName=\([^ ]*\) .* State=\([^ ]*\) .*/\1 \2/p' |
    grep -v '^onprem'
}

watch_nodes() {
  local name state
  while read -r name state; do
    case "$state" in
      DOWN* | *FAIL* | *DRAIN*) seen_down[$name]=1 ;; # not POWERED_DOWN: power saving
    esac
  done < <(node_states)
}

nodes_json() { CLOUDBURST_CONFIG=$CLOUDBURST_CONFIG "$build/cloudburst" nodes --json 2>/dev/null; }
# A node whose VM is Ready, by `cloudburst nodes`, or nothing.
ready_node() {
  nodes_json | jq -r --argjson i "$RANDOM" \
    '[.[] | select(.cloud_status == "Ready") | .name] | if length > 0 then .[$i % length] else empty end'
}
keep_alive_nodes=()
# One-shot faults that name a node act on a Ready one, if there is one.
fault_on_ready_node() { # KIND VALUE_SUFFIX
  local node
  node=$(ready_node || true)
  if [ -n "$node" ]; then
    fault "$1=$node$2"
    note "fault $1=$node$2"
    if [ "$1" = keep-alive ]; then keep_alive_nodes+=("$node"); fi
  else
    note "fault $1: no Ready node to give it to"
  fi
}
# An admin clears KeepAlive again (clear=all does not: it is the node's attribute).
clear_keep_alive() {
  local node
  for node in "${keep_alive_nodes[@]}"; do
    fault "keep-alive=$node:false"
    note "fault keep-alive=$node:false"
  done
  keep_alive_nodes=()
}

# Faults at modest rates for the whole run (every HTTP and node class); capacity, quota,
# stalls, health events, statuses, KeepAlive, invalid buckets and evictions come and go.
fault http-5xx=0.05 http-429=0.04 retry-after=1 latency=100ms hang=0.02 hang-time=3s \
  malformed-json=0.03 prepare-fail=0.08 no-slurmd=0.05 deallocate-fail=0.2
note "faults on; running for ${run_seconds}s"
start=$SECONDS
end=$((start + run_seconds))
kill_at=($((start + run_seconds / 3)) $((start + 2 * run_seconds / 3)))
next_toggle=$((start + 10))
toggle=0
while [ $SECONDS -lt $end ]; do
  if [ "$(queued)" -lt 12 ]; then
    for _ in $(seq $((RANDOM % 3))); do submit_job; done
  fi
  if [ $SECONDS -ge $next_toggle ]; then
    case $((toggle % 8)) in
      # hpc is Standard_F2s_v2: Azure's capacity fails its nodes in Acquiring.
      0) fault capacity=Standard_F2s_v2:1 ;;
      1)
        fault capacity=Standard_F2s_v2:-1 quota=spot:2 evict=1 # htc is Spot: spot quota
        clear_keep_alive # set four toggles ago: long enough for Slurm to suspend the node
        ;;
      # Quota only Azure knows; a Spot eviction notice (evicted 30 s later).
      2) fault quota=spot:1000000 azure-quota=regional:6 evict-notice=1 ;;
      # Nodes stuck in Acquiring with AllocationFailed; a health event on a Ready node.
      3) fault azure-quota=regional:-1 acquire-stall=Standard_F2s_v2:1 ready-fail=1 ;;
      4)
        fault acquire-stall=Standard_F2s_v2:-1 invalid-bucket=Standard_D2s_v5:NotActivated
        fault_on_ready_node status :Unavailable
        ;;
      5)
        fault invalid-bucket=Standard_D2s_v5:none azure-quota=spot:2
        fault_on_ready_node keep-alive :true
        ;;
      6) fault azure-quota=spot:-1 evict=1 ;;
      7) fault evict=1 ;;
    esac
    toggle=$((toggle + 1))
    next_toggle=$((SECONDS + 12))
  fi
  if [ $kills -lt 2 ] && [ $SECONDS -ge "${kill_at[$kills]}" ]; then
    if kill_daemon; then
      kills=$((kills + 1))
      note "killed cloudburstd with SIGKILL ($kills of 2)"
      # A resume or two arrive while it is down: they wait in the spool.
      submit_job
      sleep 2
      start_daemon
      restarts=$((restarts + 1))
      note "restarted cloudburstd (pid $(daemon_pid))"
    fi
  fi
  watch_nodes
  sleep 1
done

# --- settle ----------------------------------------------------------------------------------

fault clear=all
clear_keep_alive
note "faults cleared; $submitted jobs submitted; waiting for the queue to drain"
# A job requeued late waits for its begin time (Slurm delays requeued jobs) and a new boot.
drain_deadline=$((SECONDS + 2 * resume_timeout + 420))
while [ "$(queued)" -gt 0 ] && [ $SECONDS -lt $drain_deadline ]; do
  watch_nodes
  sleep 2
done
note "queue: $(queued) job(s) left; waiting for idle nodes to power down and the cloud to follow"
settled() {
  local name state states
  states=$(node_states)
  [ -n "$states" ] || return 1 # scontrol failed: not known to be settled
  while read -r name state; do
    case "$state" in
      # Failed nodes (DOWN~) should come back to the pool by themselves: wait for that too.
      IDLE+CLOUD+POWERED_DOWN) ;;
      *) return 1 ;;
    esac
  done <<<"$states"
  return 0
}
# Suspend after SuspendTime, SuspendTimeout, then the daemon's grace periods and sweeps.
settle_deadline=$((SECONDS + suspend_time + resume_timeout + 300))
while ! settled && [ $SECONDS -lt $settle_deadline ]; do
  watch_nodes
  sleep 2
done
# Nodes have powered down; give the cloud side the same chance to follow.
vm_deadline=$((SECONDS + 90))
running_vms_for_powered_down() {
  nodes_json | jq '[.[] | select((.slurm_state | contains("POWERED_DOWN")) and
    (.cloud_status | IN("-", "?", "Deallocated", "Off") | not))] | length'
}
while [ "$(running_vms_for_powered_down)" != 0 ] && [ $SECONDS -lt $vm_deadline ]; do sleep 2; done

# --- checks ----------------------------------------------------------------------------------

failed_checks=()
check() { # NAME OK(0/1) DETAIL
  if [ "$2" = 0 ]; then
    printf '  %-8s ok    %s\n' "$1" "$3"
  else
    printf '  %-8s FAIL  %s\n' "$1" "$3"
    failed_checks+=("$1")
  fi
}

completed=0 requeued_done=0 not_done=0
declare -A job_states=()
while read -r id; do
  [ -n "$id" ] || continue
  line=$(scontrol show job -o "$id" 2>/dev/null || true)
  state=$(sed -n 's/.* JobState=\([^ ]*\) .*/\1/p' <<<"$line")
  restarts_of=$(sed -n 's/.* Restarts=\([0-9]*\) .*/\1/p' <<<"$line")
  state=${state:-GONE}
  if [ "$state" = COMPLETED ] && [ -e "$dir/jobs/$id.done" ]; then
    completed=$((completed + 1))
    if [ "${restarts_of:-0}" -gt 0 ]; then requeued_done=$((requeued_done + 1)); fi
  else
    not_done=$((not_done + 1))
    job_states[$state]=$((${job_states[$state]:-0} + 1))
    echo "job $id: $state (marker $([ -e "$dir/jobs/$id.done" ] && echo yes || echo no))" >>"$dir/soak/unfinished"
  fi
done <"$dir/soak/jobs"
others=""
for s in "${!job_states[@]}"; do others+=" $s=${job_states[$s]}"; done

nodes=$(nodes_json || echo '[]')
status=$(emulator status || echo '{}')
leak_list=$(jq -r '.[] | select((.slurm_state | contains("POWERED_DOWN")) and
  (.cloud_status | IN("-", "?", "Deallocated", "Off") | not)) | "\(.name) (\(.slurm_state), VM \(.cloud_status))"' <<<"$nodes")
known_vms=$(jq '[.[] | select(.cloud_status | IN("-", "?") | not)] | length' <<<"$nodes")
total_vms=$(jq '.nodes.total // 0' <<<"$status")
unknown_vms=$((total_vms - known_vms))
leaks=$(($(grep -c . <<<"$leak_list" || true) + (unknown_vms > 0 ? unknown_vms : 0)))
stuck=$(jq -r '.[] | select(.slurm_state | test("^DOWN|DRAIN|FAIL")) |
  "\(.name) (\(.slurm_state): \(.reason))"' <<<"$nodes")
inconsistent=$(jq -r '.[] |
  (.slurm_state | contains("POWERED_DOWN")) as $down |
  (.cloud_status | IN("-", "?", "Deallocated", "Off")) as $novm |
  select(($down and (.phase | IN("idle", "") | not)) or
         ($down | not) and (.phase != "running" or .cloud_status != "Ready") or
         (.phase | IN("requested", "creating", "registering", "stopping"))) |
  "\(.name): journal \(.phase), Slurm \(.slurm_state), cloud \(.cloud_status)"' <<<"$nodes")
recovered=0
for n in "${!seen_down[@]}"; do
  if jq -e --arg n "$n" '.[] | select(.name == $n) | .slurm_state | test("^DOWN|DRAIN|FAIL") | not' \
    <<<"$nodes" >/dev/null; then
    recovered=$((recovered + 1))
  fi
done

echo
echo "soak: $minutes min, seed $seed, testbed $dir"
echo "  jobs:       $submitted submitted ($submit_errors sbatch errors), $completed completed" \
  "($requeued_done after a requeue), $not_done not completed${others:+:$others}"
echo "  faults injected by class:"
jq -r '.faultsInjected | to_entries[] | "    \(.key)=\(.value)"' <<<"$status"
echo "  API calls:  $(jq '[.apiCalls | to_entries[] | select(.key | contains("/_emulator/") | not) | .value] | add // 0' <<<"$status")" \
  "(answers: $(jq -c '.responses' <<<"$status"))"
echo "  recoveries: $restarts daemon restart(s) after SIGKILL, $requeued_done requeued job(s) completed," \
  "$recovered of ${#seen_down[@]} node(s) seen DOWN/FAIL back in service"
echo "  leaks:      $leaks (VMs for powered-down nodes: $(grep -c . <<<"$leak_list" || true), VMs Slurm does not know: $unknown_vms)"
echo "checks:"
check jobs $((not_done > 0 || submitted == 0 ? 1 : 0)) "$completed/$submitted completed"
check leaks $((leaks > 0 ? 1 : 0)) "${leak_list//$'\n'/; }"
check down~ "$([ -z "$stuck" ] && echo 0 || echo 1)" "${stuck//$'\n'/; }"
check journal "$([ -z "$inconsistent" ] && echo 0 || echo 1)" "${inconsistent//$'\n'/; }"
check kills $((kills == 2 && restarts == 2 ? 0 : 1)) "$kills SIGKILL(s), $restarts restart(s)"
if [ -s "$dir/soak/unfinished" ]; then
  echo "unfinished jobs (first 20):"
  head -n 20 "$dir/soak/unfinished" | sed 's/^/  /'
fi
if [ ${#failed_checks[@]} -gt 0 ]; then
  echo "soak: FAILED: ${failed_checks[*]} (logs: $tb/log; rerun with --keep --seed $seed to look)"
  exit 1
fi
echo "soak: passed"
