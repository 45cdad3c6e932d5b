#!/usr/bin/env bash
# Checks: every shell script we ship or run with shellcheck (must be clean), clang-format (must be
# clean) and clang-tidy (warnings are errors) over our own sources.
# CLOUDBURST_TIDY=0 skips clang-tidy (it is the slow half).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
# The *.sh files, and the shell scripts without that ending: the cluster-init's files and the
# packages' maintainer scripts.
mapfile -t scripts < <(git ls-files -co --exclude-standard -- '*.sh' \
  'templates/cluster-init/*/specs/*/cluster-init/files/*' 'packaging/deb/postinst' \
  'packaging/deb/postrm' 'packaging/deb/prerm' 'packaging/rpm/post' 'packaging/rpm/postun' \
  'packaging/rpm/preun' | sort -u)
shellcheck "${scripts[@]}"
echo "shellcheck: ${#scripts[@]} scripts clean"
mapfile -t files < <(git ls-files -co --exclude-standard -- 'src/*.cpp' 'src/*.h' 'tests/*.cpp' \
  'tests/*.h' 'bench/*.cpp' | sort -u)
existing=()
for f in "${files[@]}"; do [ -f "$f" ] && existing+=("$f"); done
clang-format --dry-run -Werror "${existing[@]}"
echo "clang-format: ${#existing[@]} files clean"
if [ "${CLOUDBURST_TIDY:-1}" = 1 ]; then
  [ -f build/compile_commands.json ] || bash scripts/build.sh build
  mapfile -t srcs < <(printf '%s\n' "${existing[@]}" | grep '^src/.*\.cpp$')
  run-clang-tidy -quiet -p build -j "$(nproc)" "${srcs[@]}" >/tmp/cloudburst-tidy.log 2>&1 || {
    grep -E 'warning:|error:' /tmp/cloudburst-tidy.log | head -50
    echo "clang-tidy: failed (full log: /tmp/cloudburst-tidy.log)" >&2
    exit 1
  }
  echo "clang-tidy: ${#srcs[@]} files clean"
fi
