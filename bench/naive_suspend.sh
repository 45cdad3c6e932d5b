#!/bin/bash
# The SuspendProgram that goes with naive_resume.sh (see there): one terminate call for the
# hostlist, then NodeAddr/NodeHostName back to the node name. Baseline of
# bench/sbatch_to_running.sh only.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
here=$(cd "$(dirname "$0")" && pwd)
exec >>"$here/naive.log" 2>&1 </dev/null
# For the benchmark's clean-up only (slurmctld's children outlive it): our PID while we run.
touch "$here/pids/$$" 2>/dev/null && trap 'rm -f "$here/pids/$$"' EXIT
# shellcheck source=/dev/null
. "$here/naive.conf"
export SLURM_CONF

echo "$(date +%s.%N) suspend $1"
hosts=$(scontrol show hostnames "$1")
names=$(jq -R . <<<"$hosts" | jq -cs '{names: .}')
curl -sS --fail --cacert "$CA" -u "$(head -n 1 "$CREDENTIALS")" \
  -H 'Content-Type: application/json' -X POST "$URL/clusters/$CLUSTER/nodes/terminate" \
  -d "$names" >/dev/null || echo "terminate $1 failed"
for h in $hosts; do
  scontrol update NodeName="$h" NodeAddr="$h" NodeHostName="$h"
done
