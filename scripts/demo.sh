#!/usr/bin/env bash
# The cloudburst demo, on one machine, as root. It installs and builds what it needs, then:
#   * brings up a real Slurm cluster (munge, slurmctld) with two always-on "on-prem" nodes
#     (slurmd in network namespaces), the CycleCloud emulator as the cloud (its VMs are
#     namespaces running real slurmd), and cloudburstd with the hooks as Slurm's
#     Resume/Suspend programs (scripts/testbed.sh up --cloudburst);
#   * submits more work than the on-prem nodes can hold, so the overflow bursts into cloud
#     nodes, which register, run jobs (their output shows the cloud host names), and are
#     shut down after they idle;
#   * shows the node states as they change and ends with a summary.
# It cleans up after itself, also on Ctrl-C.
#
#   scripts/demo.sh [--slurm VERSION]   VERSION: host (default; 22.05 on Debian 12) or 24.11
#                                       (Debian 13's, see scripts/testbed.sh --slurm)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
slurm=host
while [ $# -gt 0 ]; do
  case "$1" in
    --slurm) [ $# -ge 2 ] || { echo "demo: --slurm takes host or 24.11" >&2; exit 2; }; slurm=$2; shift ;;
    *) echo "demo: unknown option '$1' (usage: $0 [--slurm host|24.11])" >&2; exit 2 ;;
  esac
  shift
done

bold() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

bash scripts/install-deps.sh >/dev/null
bold "Building"
build=${CLOUDBURST_BUILD:-$here/build}
bash scripts/build.sh "$build" -DCLOUDBURST_WERROR=OFF >/dev/null
echo "built in $build"

dir=$(mktemp -d /tmp/cloudburst-demo.XXXXXX)
cleanup() {
  bold "Cleaning up"
  bash "$here/scripts/testbed.sh" down "$dir" 2>&1 | tail -n 1 || true
  rm -rf "$dir" "$dir-prices.csv" "$dir-cost.toml"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The sample price list, so that `cloudburst cost` shows money (docs/cost.md).
install -m 0644 "$here/packaging/prices-sample.csv" "$dir-prices.csv"
printf '[cost]\nprices = "%s"\n' "$dir-prices.csv" >"$dir-cost.toml"

bold "Bringing up Slurm, two on-prem nodes, the CycleCloud emulator and cloudburstd"
bash scripts/testbed.sh up "$dir" --build "$build" --slurm "$slurm" --cloudburst --onprem 2 \
  --cloud-nodes 'hpc-[1-4]' --suspend-time 15 --suspend-timeout 5 \
  --cloudburst-conf "$dir-cost.toml" 2>&1 | sed -n '1,7p'
# shellcheck disable=SC1091
. "$dir/testbed.env"
cb=$build/cloudburst
emulator_status() {
  "$build/cyclecloud-emulator" status --url "$CB_TESTBED_EMULATOR_URL" \
    --credentials "$CB_TESTBED_EMULATOR_CREDENTIALS" --ca "$CB_TESTBED_EMULATOR_CA"
}
states() { sinfo -h -N -p work -o '%N=%T' | sort -u | tr '\n' ' '; }

bold "Partitions (on-prem first: cloud nodes have a higher Weight)"
sinfo

bold "Submitting 6 one-node jobs to partition 'work' as user nobody (2 fit on-prem)"
install -d -m 0777 "$dir/out"
start=$(date +%s.%N)
jobs=()
for i in 1 2 3 4 5 6; do
  # shellcheck disable=SC2016 # $(hostname) is for the job's shell
  # --chdir /tmp: a burst VM has its own file system (its cluster-init's), without this clone.
  jobs+=("$(runuser -u nobody -- env SLURM_CONF="$SLURM_CONF" "$CB_TESTBED_SLURM_BIN/sbatch" --parsable -p work \
    --chdir /tmp -o "$dir/out/job$i.out" --wrap 'echo "job on $(hostname)"; sleep 10')")
done
echo "jobs: ${jobs[*]}"

bold "Watching node states (idle~ = powered down, alloc# = booting, alloc = running)"
first_cloud_running=""
deadline=$((SECONDS + 180))
while [ -n "$(squeue -h -j "$(IFS=,; echo "${jobs[*]}")" 2>/dev/null)" ]; do
  printf '%5.1fs  %s\n' "$(echo "$(date +%s.%N) - $start" | bc)" "$(states)"
  if [ -z "$first_cloud_running" ] && squeue -h -t R -o '%N' | grep -q '^hpc-'; then
    first_cloud_running=$(echo "$(date +%s.%N) - $start" | bc)
  fi
  [ $SECONDS -lt $deadline ] || { echo "jobs did not finish in 180 s"; exit 1; }
  sleep 2
done

bold "Job output (cloud jobs ran on hpc-N)"
cat "$dir"/out/job*.out

bold "cloudburst nodes"
"$cb" nodes

bold "Waiting for the idle cloud nodes to be suspended and their VMs deleted"
deadline=$((SECONDS + 120))
while true; do
  total=$(emulator_status | jq '.nodes.total')
  printf '%s  VMs: %s\n' "$(states)" "${total:-?}"
  [ "${total:-1}" = 0 ] && break
  [ $SECONDS -lt $deadline ] || { echo "VMs not deleted in 120 s"; exit 1; }
  sleep 3
done

bold "Why is hpc-1 in its state? (cloudburst why hpc-1)"
"$cb" why hpc-1 || true

bold "The daemon (cloudburst status)"
"$cb" status || true

bold "What the burst cost (cloudburst cost, sample list prices)"
"$cb" cost || true

bold "Summary"
status=$(emulator_status)
creates=$(jq '[.apiCalls | to_entries[] | select(.key | contains("nodes/create")) | .value] | add // 0' <<<"$status")
calls=$(jq '[.apiCalls[]] | add // 0' <<<"$status")
burst=$(grep -l 'job on hpc-' "$dir"/out/job*.out | wc -l)
echo "jobs completed:           ${#jobs[@]} ($burst of them on cloud nodes)"
echo "cloud nodes burst:        $(grep -ho 'hpc-[0-9]*' "$dir"/out/job*.out | sort -u | wc -l)"
echo "CycleCloud API calls:     ${calls:-?} (create calls: ${creates:-?})"
echo "submit to first cloud job running: ${first_cloud_running:-?} s"
