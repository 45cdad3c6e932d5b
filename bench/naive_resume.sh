#!/bin/bash
# The simplest ResumeProgram an admin would write by hand against the CycleCloud REST API:
# one create call per node (literal name), poll the node list every second until each node
# has an address, then `scontrol update NodeAddr= NodeHostName=` per node. It is the
# baseline of bench/sbatch_to_running.sh; do not use it in production (no retries, no
# failure handling, no journal).
#
# Slurm runs it as SlurmUser with one argument (a hostlist), no PATH and fds 0-2 closed.
# Settings come from naive.conf beside it (shell variables URL, CLUSTER, CA, CREDENTIALS,
# SLURM_CONF), as an admin would hard-code them.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
here=$(cd "$(dirname "$0")" && pwd)
exec >>"$here/naive.log" 2>&1 </dev/null
# For the benchmark's clean-up only (slurmctld's children outlive it): our PID while we run.
touch "$here/pids/$$" 2>/dev/null && trap 'rm -f "$here/pids/$$"' EXIT
# shellcheck source=/dev/null
. "$here/naive.conf"
export SLURM_CONF

api() {
  curl -sS --fail --cacert "$CA" -u "$(head -n 1 "$CREDENTIALS")" \
    -H 'Content-Type: application/json' "$@"
}

echo "$(date +%s.%N) resume $1"
hosts=$(scontrol show hostnames "$1")
for h in $hosts; do
  # Node names are <nodearray>-<n>.
  api -X POST "$URL/clusters/$CLUSTER/nodes/create" \
    -d "{\"sets\": [{\"nodearray\": \"${h%-*}\", \"count\": 1, \"nameFormat\": \"$h\"}]}" >/dev/null ||
    echo "create $h failed"
done

pending=" $(tr '\n' ' ' <<<"$hosts")"
deadline=$((SECONDS + 600))
while [ -n "${pending// /}" ] && [ $SECONDS -lt $deadline ]; do
  sleep 1
  nodes=$(api "$URL/clusters/$CLUSTER/nodes") || continue
  for h in $pending; do
    ip=$(jq -r --arg n "$h" '.nodes[] | select(.Name == $n) | .PrivateIp // empty' <<<"$nodes")
    if [ -n "$ip" ]; then
      scontrol update NodeName="$h" NodeAddr="$ip" NodeHostName="$h"
      pending=${pending/ $h / }
    fi
  done
done
left=$(xargs <<<"$pending")
echo "$(date +%s.%N) resumed $1${left:+ (still without an address: $left)}"
