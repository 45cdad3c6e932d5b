#!/usr/bin/env bash
# System test (issue 14): the .deb builds, installs into a fresh Debian root, works there, and
# upgrades in place keeping the site's config, the journal and an edited conffile.
#
#   tests/package/install_test.sh SUITE SOURCE_DIR WORK_DIR
#
# SUITE bookworm: the package is built on this machine (Debian 12). SUITE trixie: it is built
# inside a Debian 13 root, because a package depends on the libraries of the distribution
# that built it. Roots come from scripts/debian-root.sh (cached). WORK_DIR is removed at the
# end, whatever happened; the build tree (WORK_DIR.build, or the Debian 13 build root
# WORK_DIR.buildroot) stays for the next run. Each failed check says what it expected and what it found.
set -euo pipefail
suite=$1 src=$2 work=$3
case "$suite" in bookworm | trixie) ;; *)
  echo "usage: $0 bookworm|trixie SOURCE_DIR WORK_DIR" >&2
  exit 2
  ;;
esac
if [ "$(id -u)" -ne 0 ]; then
  echo "SKIP: needs root (mmdebstrap, chroot)"
  exit 77
fi
for tool in mmdebstrap unshare chroot sqlite3 git; do
  command -v "$tool" >/dev/null || {
    echo "FAIL: $tool is not installed (scripts/install-deps.sh installs it)"
    exit 1
  }
done

rm -rf "$work"
mkdir -p "$work"
cleanup() { rm -rf "$work"; }
trap cleanup EXIT

failures=0
fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}
step() { echo "== $*"; }

# CMD inside ROOT, with /proc, in a private mount namespace (nothing stays mounted), and
# with an environment of its own: nothing of this machine's (a compiler launcher, say) leaks in.
in_root() {
  local root=$1
  shift
  # shellcheck disable=SC2016 # expanded by the inner bash, from its arguments
  unshare --mount --propagation private -- \
    bash -c 'mount -t proc proc "$0/proc" && exec chroot "$0" "$@"' "$root" \
    env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 "$@"
}

# The commit `cloudburst version` must name.
commit=$(git -C "$src" rev-parse --short=12 HEAD)
if ! git -C "$src" diff --quiet HEAD --; then commit="$commit-dirty"; fi

step "build the packages for $suite (release 1, then 2 as the next build)"
if [ "$suite" = bookworm ]; then
  # shellcheck source=/dev/null
  . /etc/os-release
  if [ "${VERSION_CODENAME:-}" != bookworm ]; then
    echo "SKIP: this machine is not Debian 12; its packages would not be bookworm's"
    exit 77
  fi
  # The build tree stays beside WORK_DIR, so a rerun rebuilds only what changed.
  build() { "$src/scripts/package.sh" --no-rpm --build-dir "$work.build" --out "$work/dist$1" --release "$1"; }
else
  mapfile -t deps < <("$src/scripts/package.sh" --print-build-deps)
  # The build root stays beside WORK_DIR (a rerun rebuilds only what changed); the source in
  # it is replaced by the source as it is checked out (tracked and new files, no build trees).
  broot="$work.buildroot"
  if [ ! -x "$broot/usr/bin/cmake" ]; then
    rm -rf "$broot"
    "$src/scripts/debian-root.sh" trixie "$broot" "${deps[@]}"
  fi
  rm -rf "$broot/src"
  mkdir -p "$broot/src"
  git -C "$src" ls-files -co --exclude-standard -z |
    tar -C "$src" --null -T - -cf - | tar -C "$broot/src" -xf -
  build() {
    rm -rf "$broot/dist$1" &&
      in_root "$broot" env CLOUDBURST_GIT_COMMIT="$commit" \
        /src/scripts/package.sh --no-rpm --build-dir /build --out "/dist$1" --release "$1" &&
      mkdir -p "$work/dist$1" && mv "$broot/dist$1"/*.deb "$work/dist$1/"
  }
fi
build 1 >"$work/build1.log" 2>&1 || { tail -30 "$work/build1.log"; fail "package build failed"; exit 1; }
build 2 >"$work/build2.log" 2>&1 || { tail -30 "$work/build2.log"; fail "package rebuild failed"; exit 1; }
deb1=$(ls "$work"/dist1/*.deb)
deb2=$(ls "$work"/dist2/*.deb)
echo "built $(basename "$deb1") and $(basename "$deb2")"

# Without Recommends (slurmctld, munge): a site may run a Slurm of its own build, and the
# postinst must then say that the slurm account is missing.
step "install into a fresh $suite root"
root="$work/root"
"$src/scripts/debian-root.sh" "$suite" "$root" systemd
cp "$deb1" "$deb2" "$root/tmp/"
if ! in_root "$root" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
  "/tmp/$(basename "$deb1")" >"$work/install1.log" 2>&1; then
  tail -30 "$work/install1.log"
  fail "apt-get install of $(basename "$deb1") failed"
  exit 1
fi
grep -q "there is no 'slurm' account yet" "$work/install1.log" ||
  fail "postinst did not warn that the slurm account is missing"

step "every installed path, its type and mode"
expected="$work/expected"
sed -e '/^#/d' -e '/^$/d' "$src/tests/package/installed-files.txt" | sort >"$expected"
in_root "$root" dpkg-query -L cloudburst | sort | while read -r path; do
  [ -d "$root$path" ] && [ ! -L "$root$path" ] && continue
  mode=$(stat -c %a "$root$path")
  case "$path" in /usr/share/doc/cloudburst/docs/*) path='/usr/share/doc/cloudburst/docs/*' ;; esac
  printf '%s %s\n' "$mode" "$path"
done | sort -u | sort -k2 >"$work/found"
sort -k2 "$expected" >"$work/expected.sorted"
if ! diff -u "$work/expected.sorted" "$work/found" >"$work/paths.diff"; then
  cat "$work/paths.diff"
  fail "installed files differ from tests/package/installed-files.txt (- expected, + found)"
fi
[ "$(stat -c %U:%G "$root/usr/sbin/cloudburstd")" = root:root ] ||
  fail "cloudburstd is not owned by root:root"

step "the programs are hardened (dpkg-buildflags hardening=+all)"
# (readelf's output is read whole: grep -q would stop reading early, and pipefail then takes
# readelf's SIGPIPE for a failure.)
for program in usr/sbin/cloudburstd usr/bin/cloudburst; do
  headers=$(readelf -lW "$root/$program")
  dynamic=$(readelf -dW "$root/$program")
  symbols=$(readelf -sW --dyn-syms "$root/$program")
  grep -q GNU_RELRO <<<"$headers" || fail "$program has no RELRO segment"
  grep -q 'FLAGS.*NOW' <<<"$dynamic" || fail "$program is not linked with -z now (no BIND_NOW flag)"
  grep -q 'FLAGS_1.*PIE' <<<"$dynamic" || fail "$program is not a PIE"
  grep -q __stack_chk_fail <<<"$symbols" || fail "$program is built without the stack protector"
done

step "the programs run"
out=$(in_root "$root" cloudburst version) || fail "cloudburst version failed"
[ "$out" = "cloudburst 0.1.0 (git $commit)" ] ||
  fail "cloudburst version printed '$out', expected 'cloudburst 0.1.0 (git $commit)'"
out=$(in_root "$root" cloudburstd --version) || fail "cloudburstd --version failed"
[ "$out" = "cloudburstd 0.1.0 (git $commit)" ] || fail "cloudburstd --version printed '$out'"
in_root "$root" cloudburst doctor --help >/dev/null || fail "cloudburst doctor --help failed"
# A hook with no request is a usage error (2), not a loader failure (127).
set +e
in_root "$root" /usr/libexec/cloudburst/cloudburst-resume >/dev/null 2>&1
rc=$?
set -e
[ "$rc" = 2 ] || fail "cloudburst-resume without arguments exited $rc, expected 2 (usage)"

step "the example config checks once its password file exists"
install -d -m 0755 "$root/etc/cloudburst"
cp "$root/usr/share/cloudburst/cloudburst.example.toml" "$root/etc/cloudburst/cloudburst.toml"
chmod 0644 "$root/etc/cloudburst/cloudburst.toml"
(umask 077 && printf 'not-a-real-password\n' >"$root/etc/cloudburst/cyclecloud.password")
in_root "$root" cloudburst --config /etc/cloudburst/cloudburst.toml config check >"$work/check.log" 2>&1 ||
  { cat "$work/check.log"; fail "config check of the example config failed"; }

step "systemd-analyze verify on the unit"
if ! in_root "$root" systemd-analyze verify /usr/lib/systemd/system/cloudburstd.service \
  >"$work/verify.log" 2>&1; then
  cat "$work/verify.log"
  fail "systemd-analyze verify found problems in cloudburstd.service"
fi

step "man pages and completion"
for page in man1/cloudburst.1 man5/cloudburst.toml.5 man8/cloudburstd.8; do
  grep -q '^\.TH ' "$root/usr/share/man/$page" || fail "$page has no .TH header"
done
# shellcheck disable=SC2016 # expanded by bash in the root
words=$(in_root "$root" bash -c 'source /usr/share/bash-completion/completions/cloudburst &&
  COMP_WORDS=(cloudburst hostlist "") COMP_CWORD=2 && _cloudburst && echo "${COMPREPLY[*]}"')
for w in expand compress sort; do
  [[ " $words " == *" $w "* ]] || fail "completing 'cloudburst hostlist' offered '$words', not $w"
done

step "upgrade to the next build: the config, the journal and an edited conffile stay"
install -d -m 0700 "$root/var/lib/cloudburst"
sqlite3 "$root/var/lib/cloudburst/state.db" <"$src/tests/data/journal-0.1.0.sql" >/dev/null
printf '# edited by the site\n' >>"$root/etc/logrotate.d/cloudburst"
sum_before=$(cd "$root" && sha256sum etc/cloudburst/cloudburst.toml etc/cloudburst/cyclecloud.password \
  etc/logrotate.d/cloudburst)
if ! in_root "$root" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
  "/tmp/$(basename "$deb2")" >"$work/install2.log" 2>&1; then
  tail -30 "$work/install2.log"
  fail "upgrading to $(basename "$deb2") failed"
fi
# shellcheck disable=SC2016 # a dpkg-query format, not a shell expansion
version=$(in_root "$root" dpkg-query -W -f '${Version}' cloudburst)
[[ "$version" == 0.1.0-2* ]] || fail "after the upgrade dpkg has version $version, not 0.1.0-2"
sum_after=$(cd "$root" && sha256sum etc/cloudburst/cloudburst.toml etc/cloudburst/cyclecloud.password \
  etc/logrotate.d/cloudburst)
[ "$sum_before" = "$sum_after" ] || fail "the upgrade changed the config, the password file or the edited conffile"
out=$(in_root "$root" cloudburst --config /etc/cloudburst/cloudburst.toml why hpc-3 2>&1) ||
  fail "cloudburst why on the old journal failed: $out"
[[ "$out" == *"hpc-3 is running"* ]] || fail "cloudburst why on the old journal printed: $out"

step "removal keeps the site's files"
in_root "$root" env DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq cloudburst >"$work/purge.log" 2>&1 ||
  { tail -20 "$work/purge.log"; fail "apt-get purge cloudburst failed"; }
for f in etc/cloudburst/cloudburst.toml var/lib/cloudburst/state.db; do
  [ -f "$root/$f" ] || fail "purging the package removed /$f"
done
[ ! -e "$root/usr/sbin/cloudburstd" ] || fail "purge left /usr/sbin/cloudburstd"

if [ "$failures" -gt 0 ]; then
  echo "$failures check(s) failed"
  exit 1
fi
echo "PASS: $suite: built, installed, checked, upgraded and removed"
