#!/usr/bin/env bash
# The whole test suite, from a fresh Debian 12 machine, as root:
#   1. installs the Debian packages it needs (scripts/install-deps.sh),
#   2. checks formatting (clang-format; clang-tidy too with CLOUDBURST_TIDY=1),
#   3. builds the unit tests with ASan+UBSan and runs them (their only run: the full-suite tree
#      does not build them again),
#   4. builds the normal tree and runs every other test: libslurm oracle, and system tests
#      (real munge, slurmctld, slurmd in network namespaces, the emulator; on Slurm 22.05 and
#      24.11), which start
#      and stop whatever they need themselves, and beside them the package tests (the .deb in
#      fresh Debian 12 and 13 roots). The chaos soak (label soak) is left out:
#      `ctest -L soak` or tests/soak/run.sh.
# Ends with CTest's summary of the full run. Exit status 0 only if everything passed.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"

bash scripts/install-deps.sh

# The package tests (label package: build the .deb in Release, install it into fresh Debian 12
# and 13 roots) compile the product twice more (once per Debian release) and download two
# roots, so they start now, at the lowest CPU priority, and run beside everything else: they
# take the CPU the rest leaves idle and almost none of what the builds and the system tests
# use (measured: 2 cores stay busy until the main suite ends, so most of their work comes
# after it; what they overlap is their downloads). Slurm 24.11's slurmctld, chrooted in its root,
# missed its 10 s message timeouts beside a compile of equal priority (sbatch "Socket timed
# out", jobs left pending). They need only a configured tree; their output follows the main
# summary.
# They run in a process group of their own (job control on for that one command), so a
# failure further on stops all of them. Not a session of their own (setsid): the kernel's
# autogroups would then give that session as much CPU as the rest, whatever its nice.
# The full-suite tree is compiled as the packages are (-O2, no debug info: -g made a compile
# half as long again) and leaves out the unit tests: they run in the sanitizer tree, and
# building them twice was a third of this tree's compile.
full_suite_args=(-DCLOUDBURST_WERROR=ON -DCLOUDBURST_UNIT_TESTS=OFF -DCMAKE_BUILD_TYPE=Release
  "-DCMAKE_CXX_FLAGS_RELEASE=-O2 -DNDEBUG" "-DCMAKE_C_FLAGS_RELEASE=-O2 -DNDEBUG")
cmake -S "$here" -B "$here/build" -G Ninja "${full_suite_args[@]}" >/dev/null
set -m
(cd build && exec nice -n 19 ctest -L package --output-on-failure -j2) \
  >build/package-tests.log 2>&1 &
package_pid=$!
set +m
stop_package_tests() {
  if kill -0 "$package_pid" 2>/dev/null; then
    # Kill first: when the suite is stopped, its output may be a closed pipe, and the echo
    # would then end this shell (SIGPIPE) before the kill.
    kill -TERM -- "-$package_pid" 2>/dev/null || true
    echo "== stopped the package tests (the suite ended before they finished)"
  fi
}
trap stop_package_tests EXIT

echo "== format (clang-format)"
# clang-tidy over every file takes longer on 2 cores than the rest of the suite together, so
# the suite runs it only when asked (CLOUDBURST_TIDY=1); scripts/lint.sh runs it by default.
CLOUDBURST_TIDY=${CLOUDBURST_TIDY:-0} bash scripts/lint.sh

echo "== unit tests under AddressSanitizer + UndefinedBehaviorSanitizer"
# Only label "unit": the oracle tests call libslurm, which leaks on the malformed lists they
# feed it (LeakSanitizer would blame libslurm, not us); they run in the full suite below.
# Only what the unit tests run: their binary, the two programs they call and the conformance
# probes (label unit too). The binary runs as four gtest shards, not one process per test:
# under ASan each process takes about 1 s to start (measured: 382 s one a test, 41 s in shards).
CLOUDBURST_TARGETS="unit_tests cloudburst cyclecloud-emulator conformance-probes" \
  bash scripts/build.sh "$here/build-asan" -DCLOUDBURST_WERROR=ON -DCMAKE_BUILD_TYPE=Debug -DCLOUDBURST_SANITIZE=ON \
  -DCLOUDBURST_BENCH=OFF -DCLOUDBURST_SYSTEM_TESTS=OFF -DCLOUDBURST_UNIT_SHARDS=4
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest -L unit --output-on-failure -j2)

echo "== full suite"
# Warnings are errors here (a developer and CI build), never in a user's build.
bash scripts/build.sh "$here/build" "${full_suite_args[@]}"
cd build
status=0
# System tests mostly wait on Slurm's and the emulator's timers, and each testbed has its own
# bridge, subnet, ports, munge and namespaces (scripts/testbed.sh picks a free index under a
# lock), so four run at once (measured: 10 heal and failure tests, 725 s one by one, 377 s two
# at a time; the 24.11 copies, 1301 s one by one, 340 s four at a time beside a nice'd build).
# Each system test runs twice, on the host's Slurm 22.05 and on 24.11 from the Debian 13 root
# install-deps.sh built (TEST.slurm24.11); CTest's "Label Time Summary" at the end gives the
# time per label (slurm22.05, slurm24.11, unit, ...).
ctest -LE 'soak|package' -j4 --output-on-failure --timeout 900 || status=$?
package_status=0
wait "$package_pid" || package_status=$?
echo "== package tests (label package)"
cat package-tests.log
if [ "$status" -ne 0 ] || [ "$package_status" -ne 0 ]; then
  exit 1
fi
