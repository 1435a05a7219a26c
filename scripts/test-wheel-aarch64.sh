#!/usr/bin/env bash
# Test the aarch64 release wheel where it runs: an arm64 Debian root (debootstrap), run under qemu-user
# through binfmt_misc, a venv there with Debian's arm64 CPython, `pip install` of both wheels with no
# Rust toolchain (the dependencies come from PyPI as binary wheels), then `voltyard --version`, a native
# decode of an OCPP frame and a CRC-8 check. Prints the time of each step and the total.
#
# usage: sudo scripts/test-wheel-aarch64.sh [DIST_DIR]     (default: dist/ at the repository root)
#   DIST_DIR holds one voltyard-*aarch64.whl and one voltyard_tui-*.whl (scripts/build-wheels.sh).
# Needs root (debootstrap, chroot, mounts) and Debian's debootstrap, qemu-user-static, binfmt-support.
# Environment:
#   ARM64_ROOT     where the arm64 root lives (default /tmp/voltyard-arm64-bookworm); made once and
#                  reused afterwards (delete it to start afresh). Never inside the repository.
#   DEBIAN_SUITE   (default bookworm: CPython 3.11, the oldest Python voltyard supports)
#   DEBIAN_MIRROR  (default http://deb.debian.org/debian)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
[[ $# -le 1 ]] || { echo "usage: $0 [DIST_DIR]" >&2; exit 2; }
DIST="$(cd "${1:-$ROOT/dist}" && pwd)"
ARM64_ROOT="${ARM64_ROOT:-/tmp/voltyard-arm64-bookworm}"
SUITE="${DEBIAN_SUITE:-bookworm}"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"

fail() { echo "test-wheel-aarch64: $*" >&2; exit 1; }
now() { date +%s%N; }
# Seconds since `now` gave $1, with one decimal.
since() { local ds=$((($(now) - $1) / 100000000)); echo "$((ds / 10)).$((ds % 10))"; }
STARTED=$(now)

[[ $(id -u) -eq 0 ]] || fail "needs root (debootstrap, chroot and mounts): run it with sudo"
for tool in debootstrap qemu-aarch64-static update-binfmts chroot; do
    command -v "$tool" >/dev/null || fail "no '$tool' on PATH (apt-get install debootstrap qemu-user-static binfmt-support)"
done
# It is deleted and remade when unfinished: refuse anything but a folder of its own.
case "$ARM64_ROOT" in
    "$ROOT" | "$ROOT"/*) fail "ARM64_ROOT=$ARM64_ROOT is inside the repository; put it elsewhere (e.g. /tmp)" ;;
    /*/*) ;;
    *) fail "ARM64_ROOT=$ARM64_ROOT must be an absolute path below a top-level folder (e.g. /tmp/arm64)" ;;
esac

shopt -s nullglob
core=("$DIST"/voltyard-*-manylinux*aarch64.whl)
tui=("$DIST"/voltyard_tui-*-py3-none-any.whl)
shopt -u nullglob
[[ ${#core[@]} -eq 1 ]] || fail "expected one voltyard-*aarch64.whl in $DIST, found ${#core[@]} (run scripts/build-wheels.sh)"
[[ ${#tui[@]} -eq 1 ]] || fail "expected one voltyard_tui-*.whl in $DIST, found ${#tui[@]} (run scripts/build-wheels.sh)"

# binfmt_misc runs arm64 ELF files through qemu-aarch64-static; its F flag (Debian's default) means
# the emulator need not be copied into the root.
if [[ ! -e /proc/sys/fs/binfmt_misc/status ]]; then
    mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc || fail "cannot mount binfmt_misc"
fi
if ! grep -qx enabled /proc/sys/fs/binfmt_misc/qemu-aarch64 2>/dev/null; then
    update-binfmts --enable qemu-aarch64 || fail "cannot enable the qemu-aarch64 binfmt handler"
fi

# The arm64 Debian root: made once (the marker is written last, so a broken run starts afresh).
step=$(now)
if [[ ! -e "$ARM64_ROOT/.voltyard-arm64-ready" ]]; then
    ! mountpoint -q "$ARM64_ROOT/proc" || umount "$ARM64_ROOT/proc"
    rm -rf --one-file-system "$ARM64_ROOT"
    echo "test-wheel-aarch64: debootstrap $SUITE arm64 into $ARM64_ROOT (minutes: dpkg runs emulated)" >&2
    debootstrap --arch=arm64 --variant=minbase --include=python3,python3-venv,ca-certificates \
        "$SUITE" "$ARM64_ROOT" "$MIRROR" >"$ARM64_ROOT.debootstrap.log" 2>&1 ||
        fail "debootstrap failed; see $ARM64_ROOT.debootstrap.log"
    touch "$ARM64_ROOT/.voltyard-arm64-ready"
    echo "test-wheel-aarch64: arm64 root made in $(since "$step") s" >&2
else
    echo "test-wheel-aarch64: reusing the arm64 root $ARM64_ROOT" >&2
fi

# pip inside the root reaches PyPI for the dependencies; /proc for Python's own needs.
cp -L /etc/resolv.conf "$ARM64_ROOT/etc/resolv.conf"
mountpoint -q "$ARM64_ROOT/proc" || mount -t proc proc "$ARM64_ROOT/proc"
trap 'umount "$ARM64_ROOT/proc" 2>/dev/null || true' EXIT

work=/opt/voltyard-wheel-test
rm -rf "${ARM64_ROOT:?}$work"
mkdir -p "$ARM64_ROOT$work/wheels"
cp "${core[0]}" "${tui[0]}" "$ARM64_ROOT$work/wheels/"
core_name=$(basename "${core[0]}")
tui_name=$(basename "${tui[0]}")
version=$(echo "$core_name" | cut -d- -f2)

cp "$ROOT/scripts/wheel-probe.py" "$ARM64_ROOT$work/probe.py"

in_root() { chroot "$ARM64_ROOT" /usr/bin/env -i PATH=/usr/local/bin:/usr/bin:/bin HOME=/root LANG=C.UTF-8 "$@"; }

in_root uname -m | grep -qx aarch64 || fail "the root does not run as aarch64"
for tool in cargo rustc rustup; do
    if in_root sh -c "command -v $tool" >/dev/null; then fail "the arm64 root has $tool: it must have no Rust"; fi
done

step=$(now)
in_root python3 -m venv "$work/venv"
echo "test-wheel-aarch64: venv with $(in_root "$work/venv/bin/python" --version) in $(since "$step") s" >&2

# pip in the root trusts the CAs the host trusts (the host's network may pass through a TLS proxy
# that Debian's bundle does not know) and uses the host's index settings, if any.
pip_env=()
host_ca="${PIP_CERT:-${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}}"
if [[ -f "$host_ca" ]]; then
    cp "$host_ca" "$ARM64_ROOT$work/host-ca.crt"
    pip_env+=("PIP_CERT=$work/host-ca.crt")
fi
for var in PIP_INDEX_URL PIP_EXTRA_INDEX_URL PIP_DEFAULT_TIMEOUT; do
    [[ -z "${!var:-}" ]] || pip_env+=("$var=${!var}")
done

# Binary-only: nothing may be compiled on the way in (there is no compiler or Rust in the root).
step=$(now)
in_root "${pip_env[@]}" "$work/venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    --only-binary :all: "$work/wheels/$core_name" "$work/wheels/$tui_name"
echo "test-wheel-aarch64: pip install of both wheels and their dependencies in $(since "$step") s" >&2

step=$(now)
printf '$ voltyard --version\n'
out=$(in_root "$work/venv/bin/voltyard" --version)
echo "$out"
[[ "$out" == "voltyard $version" ]] || fail "voltyard --version printed '$out', expected 'voltyard $version'"
printf '$ voltyard-tui --version\n'
in_root "$work/venv/bin/voltyard-tui" --version
printf '$ python -I scripts/wheel-probe.py aarch64\n'
in_root "$work/venv/bin/python" -I "$work/probe.py" aarch64
echo "test-wheel-aarch64: checks in $(since "$step") s" >&2

echo "test-wheel-aarch64: OK: $core_name on emulated arm64 in $(since "$STARTED") s"
