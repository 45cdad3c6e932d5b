#!/usr/bin/env bash
# Installs every Debian 12 package that building, testing, benchmarking and the demo need,
# and the second Slurm they run beside the host's 22.05: a Debian 13 root with Slurm 24.11 and
# munge (scripts/slurm-root.sh; built once from the package registry, a few minutes, then
# cached in /var/cache/cloudburst). Idempotent: packages already present are left alone;
# `apt-get update` runs at most once per day (stamp file) unless CLOUDBURST_APT_UPDATE=1.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)

packages=(
  # build
  build-essential cmake ninja-build pkg-config git
  clang clang-format clang-tidy libclang-rt-14-dev
  # libraries
  libcurl4-openssl-dev nlohmann-json3-dev libtomlplusplus-dev libcli11-dev libspdlog-dev
  libfmt-dev libsqlite3-dev libcpp-httplib-dev libssl-dev libsimdjson-dev
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev libslurm-dev
  # the real Slurm and munge the system tests, demo and benchmarks run
  slurmctld slurmd slurm-client munge
  # namespaces, bridges, certificates
  iproute2 util-linux procps openssl curl ca-certificates sqlite3 bc jq
  # scripts/lint.sh checks every shipped shell script with it
  shellcheck
  # promtool: the tests check cloudburstd's metrics with it (its service is not started)
  prometheus
  # packages: man pages, and the Debian roots the install tests put them in
  go-md2man mmdebstrap
)

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: error: run as root (apt-get needs it)" >&2
  exit 2
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

# The Slurm 24.11 root (after the packages: it needs mmdebstrap).
slurm_roots() {
  local root
  root=$(bash "$here/scripts/slurm-root.sh" 24.11)
  echo "install-deps: Slurm 24.11 root in $root"
}

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  slurm_roots
  exit 0
fi

export DEBIAN_FRONTEND=noninteractive
echo "install-deps: installing ${missing[*]}"
apt-get update -qq
# Do not let package postinst scripts start daemons: tests start their own, on their own
# ports, and CI expects no services running.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod 0755 "$policy"
  created_policy=1
fi
cleanup() { if [ "$created_policy" = 1 ]; then rm -f "$policy"; fi; }
trap cleanup EXIT
apt-get install -y -qq --no-install-recommends "${missing[@]}"
slurm_roots
echo "install-deps: done"
