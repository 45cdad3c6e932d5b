#!/usr/bin/env bash
# Builds cloudburst's packages for the distribution this runs on: a .deb on Debian and Ubuntu
# (and an .rpm too when rpmbuild is installed, or with --rpm). A package depends on the
# libraries of the distribution that built it, so build on (or in a root of) each target:
# Debian 12, Debian 13, Ubuntu 22.04+, EL8/9.
#
#   scripts/package.sh [--out DIR] [--build-dir DIR] [--release N] [--rpm|--no-rpm]
#   scripts/package.sh --print-build-deps     # the Debian packages building needs
#
# As root on Debian/Ubuntu it first installs the build dependencies it lacks (Debian packages
# only). The packages land in DIR (default: dist/). --release sets the package revision
# (default 1); the distribution is appended to it (1+deb12, 1~ubuntu22.04).
# CLOUDBURST_GIT_COMMIT names the commit when the source is not a git checkout.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
out="$here/dist"
build="$here/build-pkg"
release=1
rpm=auto
print_deps=0
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out=$2; shift 2 ;;
    --build-dir) build=$2; shift 2 ;;
    --release) release=$2; shift 2 ;;
    --rpm) rpm=yes; shift ;;
    --no-rpm) rpm=no; shift ;;
    --print-build-deps) print_deps=1; shift ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "package: error: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
case "$release" in
  ''|*[!0-9]*) echo "package: error: --release must be a number, not '$release'" >&2; exit 2 ;;
esac

# shellcheck source=/dev/null
. /etc/os-release
case "${ID:-}" in
  debian) suffix="+deb${VERSION_ID%%.*}" ;;
  ubuntu) suffix="~ubuntu${VERSION_ID}" ;;
  *) suffix="" ;;
esac

# What building the programs, their man pages and the packages needs; nothing of the tests.
build_deps=(build-essential cmake ninja-build pkg-config dpkg-dev file go-md2man
  libcurl4-openssl-dev nlohmann-json3-dev libtomlplusplus-dev libcli11-dev libspdlog-dev
  libfmt-dev libsqlite3-dev libsimdjson-dev)
if [ "$rpm" = yes ]; then build_deps+=(rpm); fi
if [ "$print_deps" = 1 ]; then
  printf '%s\n' "${build_deps[@]}"
  exit 0
fi
if command -v dpkg-query >/dev/null; then
  missing=()
  for p in "${build_deps[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then
      echo "package: error: missing build dependencies: ${missing[*]} (install them as root)" >&2
      exit 2
    fi
    echo "package: installing ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
fi

generators=DEB
if [ "$rpm" = yes ] || { [ "$rpm" = auto ] && command -v rpmbuild >/dev/null; }; then
  generators="DEB;RPM"
fi

# On Debian and Ubuntu, the distribution's own compiler and linker flags (dpkg-buildflags), with
# every hardening option (the daemon runs as root: stack protector, fortified libc calls, full
# RELRO, bind now) and -O2 in place of CMake's -O3; without -g, as a CPack package has no
# separate debug symbols.
flags=()
if command -v dpkg-buildflags >/dev/null; then
  buildflags() {
    DEB_BUILD_MAINT_OPTIONS=hardening=+all DEB_CFLAGS_MAINT_STRIP=-g DEB_CXXFLAGS_MAINT_STRIP=-g \
      dpkg-buildflags --get "$1"
  }
  cppflags=$(buildflags CPPFLAGS)
  ldflags=$(buildflags LDFLAGS)
  flags=(-DCMAKE_C_FLAGS="$cppflags $(buildflags CFLAGS)" -DCMAKE_CXX_FLAGS="$cppflags $(buildflags CXXFLAGS)"
    -DCMAKE_C_FLAGS_RELEASE=-DNDEBUG -DCMAKE_CXX_FLAGS_RELEASE=-DNDEBUG
    -DCMAKE_EXE_LINKER_FLAGS="$ldflags" -DCMAKE_SHARED_LINKER_FLAGS="$ldflags")
fi

cmake -S "$here" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr \
  "${flags[@]}" \
  -DCLOUDBURST_TESTS=OFF -DCLOUDBURST_BENCH=OFF -DCLOUDBURST_EMULATOR=OFF -DCLOUDBURST_MAN=ON \
  -DCLOUDBURST_GIT_COMMIT="${CLOUDBURST_GIT_COMMIT:-}" \
  -DCPACK_DEBIAN_PACKAGE_RELEASE="${release}${suffix}" -DCPACK_RPM_PACKAGE_RELEASE="$release" \
  >/dev/null
cmake --build "$build"
mkdir -p "$out"
(cd "$build" && cpack -G "$generators" -B "$out/.cpack" >/dev/null)
find "$out/.cpack" -maxdepth 1 \( -name '*.deb' -o -name '*.rpm' \) -exec mv -f {} "$out/" \;
rm -rf "$out/.cpack"
find "$out" -maxdepth 1 \( -name '*.deb' -o -name '*.rpm' \) -newer "$build/CMakeCache.txt" -print
