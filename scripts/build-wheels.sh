#!/usr/bin/env bash
# Build Voltyard's release artefacts into OUT_DIR (default: dist/ at the repository root):
#   - voltyard:     release abi3 wheels (CPython 3.11+), manylinux2014 (glibc 2.17), one per target in
#                   WHEEL_TARGETS (default: x86_64 and aarch64), cross-linked by zig through maturin --zig
#   - voltyard-tui: the pure Python wheel (py3-none-any)
#   - voltyard:     the sdist (with --sdist), and SHA256SUMS of everything in OUT_DIR that it built
# Every wheel is listed and checked by scripts/check-wheels.py: no tests, fixtures or build leftovers,
# only files git tracks (plus the extension), an extension of the wheel's architecture. It prints each
# wheel's tag and size, and the import time of the host's wheel.
# Works from any directory; a relative OUT_DIR is taken relative to the caller's directory.
# Environment:
#   PYTHON         interpreter (3.11+) whose pip installs ziglang/maturin if missing (default python3)
#   WHEEL_TARGETS  Rust target triples of the voltyard wheels (default below)
set -euo pipefail

usage() {
    echo "usage: $0 [--sdist] [OUT_DIR]" >&2
    exit 2
}
SDIST=0
ARGS=()
for arg in "$@"; do
    case "$arg" in
        --sdist) SDIST=1 ;;
        -*) usage ;;
        *) ARGS+=("$arg") ;;
    esac
done
[[ ${#ARGS[@]} -le 1 ]] || usage

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [[ ${#ARGS[@]} -eq 1 ]]; then
    mkdir -p "${ARGS[0]}"
    OUT_DIR="$(cd "${ARGS[0]}" && pwd)"
else
    OUT_DIR="$ROOT/dist"
    mkdir -p "$OUT_DIR"
fi
cd "$ROOT"

PYTHON="$(command -v "${PYTHON:-python3}")" || {
    echo "build-wheels: no Python interpreter '${PYTHON:-python3}' on PATH" >&2
    exit 1
}
COMPAT=manylinux2014
read -r -a TARGETS <<<"${WHEEL_TARGETS:-x86_64-unknown-linux-gnu aarch64-unknown-linux-gnu}"
HOST_TARGET="$(uname -m)-unknown-linux-gnu"

# maturin: the one on PATH, else the PYTHON's (installed if missing; same range as [build-system]).
if command -v maturin >/dev/null 2>&1; then
    MATURIN=(maturin)
else
    if ! "$PYTHON" -m maturin --version >/dev/null 2>&1; then
        echo "build-wheels: installing maturin with $PYTHON -m pip" >&2
        "$PYTHON" -m pip install --quiet 'maturin>=1.9,<2'
    fi
    MATURIN=("$PYTHON" -m maturin)
fi

# zig comes from the `ziglang` PyPI package (in voltyard's test extra) unless one is on PATH.
if ! command -v zig >/dev/null 2>&1; then
    if ! "$PYTHON" -c 'import ziglang' >/dev/null 2>&1; then
        echo "build-wheels: installing ziglang with $PYTHON -m pip" >&2
        "$PYTHON" -m pip install --quiet 'ziglang>=0.13'
    fi
    # maturin's bundled cargo-zigbuild runs `$CARGO_ZIGBUILD_PYTHON_PATH -m ziglang`.
    export CARGO_ZIGBUILD_PYTHON_PATH="${CARGO_ZIGBUILD_PYTHON_PATH:-$PYTHON}"
fi

# A cross target needs its Rust standard library. rustup installs it; a toolchain without rustup
# (e.g. Debian's rustc with libstd-rust-dev:arm64) must already have it in its sysroot.
need_target() {
    local target="$1"
    [[ "$target" == "$HOST_TARGET" ]] && return 0
    if [[ -d "$(rustc --print sysroot)/lib/rustlib/$target/lib" ]]; then
        return 0
    fi
    if command -v rustup >/dev/null 2>&1; then
        echo "build-wheels: installing the Rust standard library for $target (rustup target add)" >&2
        rustup target add "$target" && return 0
    fi
    echo "build-wheels: no Rust standard library for $target in $(rustc --print sysroot)" \
        "(run: rustup target add $target)" >&2
    exit 1
}

echo "build-wheels: $("${MATURIN[@]}" --version), $(cargo --version), targets: ${TARGETS[*]}, out: $OUT_DIR" >&2

# OUT_DIR holds exactly what this run built afterwards.
rm -f "$OUT_DIR"/voltyard-*.whl "$OUT_DIR"/voltyard_tui-*.whl "$OUT_DIR"/voltyard-*.tar.gz "$OUT_DIR"/SHA256SUMS

for target in "${TARGETS[@]}"; do
    need_target "$target"
    status=0
    "${MATURIN[@]}" build --release --locked --zig --compatibility "$COMPAT" --target "$target" \
        -o "$OUT_DIR" || status=$?
    [[ $status -eq 0 ]] && continue
    if [[ "$target" != "$HOST_TARGET" ]]; then
        echo "build-wheels: 'maturin build --zig --target $target' failed (exit $status, see above)" >&2
        exit "$status"
    fi
    cat >&2 <<EOF
build-wheels: WARNING: 'maturin build --zig --compatibility $COMPAT' failed (exit $status, see above).
build-wheels: WARNING: falling back to the host toolchain; the wheel gets the lowest manylinux tag that this
build-wheels: WARNING: machine's glibc allows (not $COMPAT), or plain 'linux' if none fits.
EOF
    rm -f "$OUT_DIR"/voltyard-*"$(uname -m)".whl
    "${MATURIN[@]}" build --release --locked -o "$OUT_DIR"
done

"$PYTHON" -m pip wheel --quiet --no-deps ./tui -w "$OUT_DIR"

if [[ $SDIST -eq 1 ]]; then
    "${MATURIN[@]}" sdist -o "$OUT_DIR"
fi

# Check every wheel's contents, then print its tag and size (and the host wheel's import time):
# scripts/check-wheels.py. What git tracks is what may ship: a file the wheel holds that git does not
# is a leftover (a stray build product, a local copy of the extension, a cache).
CHECK=("$PYTHON" "$ROOT/scripts/check-wheels.py" "$OUT_DIR")
if git -C "$ROOT" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    TRACKED="$(mktemp)"
    trap 'rm -f "$TRACKED"' EXIT
    git -C "$ROOT" ls-files python/voltyard tui/src/voltyard_tui >"$TRACKED"
    CHECK+=(--tracked "$TRACKED")
fi
"${CHECK[@]}"

(
    cd "$OUT_DIR"
    summed=(voltyard*.whl)
    [[ $SDIST -eq 0 ]] || summed+=(voltyard-*.tar.gz)
    sha256sum "${summed[@]}" >SHA256SUMS
)
echo "build-wheels: built (checksums in $OUT_DIR/SHA256SUMS)" >&2
