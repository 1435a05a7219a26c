#!/usr/bin/env bash
# Build the release wheels of Voltyard into OUT_DIR (default: dist/ at the repository root):
#   - voltyard:     abi3 (CPython 3.11+), manylinux2014 (glibc 2.17), linked by zig through maturin --zig
#   - voltyard-tui: pure Python (py3-none-any)
# Works from any directory; a relative OUT_DIR is taken relative to the caller's directory.
# Environment: PYTHON (default python3) is the interpreter whose pip installs ziglang/maturin if missing.
set -euo pipefail

usage() {
    echo "usage: $0 [OUT_DIR]" >&2
    exit 2
}
[[ $# -le 1 ]] || usage
[[ "${1:-}" != -* ]] || usage

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [[ $# -eq 1 ]]; then
    mkdir -p "$1"
    OUT_DIR="$(cd "$1" && pwd)"
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

echo "build-wheels: $("${MATURIN[@]}" --version), $(cargo --version), out: $OUT_DIR" >&2

# OUT_DIR holds exactly one wheel of each distribution afterwards.
rm -f "$OUT_DIR"/voltyard-*.whl "$OUT_DIR"/voltyard_tui-*.whl

status=0
"${MATURIN[@]}" build --release --locked --zig --compatibility "$COMPAT" -o "$OUT_DIR" || status=$?
if [[ $status -ne 0 ]]; then
    cat >&2 <<EOF
build-wheels: WARNING: 'maturin build --zig --compatibility $COMPAT' failed (exit $status, see above).
build-wheels: WARNING: falling back to the host toolchain; the wheel gets the lowest manylinux tag that this
build-wheels: WARNING: machine's glibc allows (not $COMPAT), or plain 'linux' if none fits.
EOF
    rm -f "$OUT_DIR"/voltyard-*.whl
    "${MATURIN[@]}" build --release --locked -o "$OUT_DIR"
fi

"$PYTHON" -m pip wheel --quiet --no-deps ./tui -w "$OUT_DIR"

echo "build-wheels: built" >&2
ls -1 "$OUT_DIR"/voltyard-*.whl "$OUT_DIR"/voltyard_tui-*.whl
