#!/usr/bin/env bash
# Build Voltyard's release artefacts into OUT_DIR (default: dist/ at the repository root):
#   - voltyard:     release abi3 wheels (CPython 3.11+), manylinux2014 (glibc 2.17), one per target in
#                   WHEEL_TARGETS (default: x86_64 and aarch64), cross-linked by zig through maturin --zig
#   - voltyard-tui: the pure Python wheel (py3-none-any)
#   - voltyard:     the sdist (with --sdist), and SHA256SUMS of everything in OUT_DIR that it built
# Every wheel is listed and checked: no tests, fixtures or build leftovers, only files git tracks (plus
# the extension), and an extension of the wheel's architecture. It prints each wheel's tag and size,
# and the import time of the host's wheel.
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

# Check every wheel's contents, then print its tag and size (and the host wheel's import time).
# What git tracks is what may ship: a file the wheel holds that git does not is a leftover
# (a stray build product, a local copy of the extension, a cache).
TRACKED=""
if git -C "$ROOT" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    TRACKED="$(mktemp)"
    trap 'rm -f "$TRACKED"' EXIT
    git -C "$ROOT" ls-files python/voltyard tui/src/voltyard_tui >"$TRACKED"
fi

"$PYTHON" - "$OUT_DIR" "$HOST_TARGET" "$TRACKED" <<'EOF'
import os
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

out_dir, host_target, tracked_list = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
# ELF e_machine of each wheel platform's architecture.
ELF_MACHINE = {"x86_64": 62, "aarch64": 183}
BAD_DIRS = {"tests", "test", "fixtures", "__pycache__", "target", "build", "dist", ".git", ".pytest_cache",
            ".mypy_cache", ".ruff_cache", ".hypothesis", ".schemathesis", ".venv", "node_modules"}
BAD_SUFFIXES = (".pyc", ".pyo", ".orig", ".rej", ".swp", ".bak", ".log", ".db", ".sqlite", ".sqlite3",
                ".whl", ".tar.gz", ".o", ".a", ".d", ".rlib", ".rmeta", ".profraw", ".pdb")
# Source trees of each distribution's package, as git lists them.
SOURCES = {"voltyard": "python/", "voltyard_tui": "tui/src/"}

tracked = set(Path(tracked_list).read_text().split()) if tracked_list else None
problems: list[str] = []
rows: list[tuple[str, str, str]] = []
host_wheel = None
for wheel in sorted(out_dir.glob("voltyard*.whl")):
    dist, _version, py, abi, plat = wheel.name.removesuffix(".whl").split("-")
    with zipfile.ZipFile(wheel) as zf:
        names = [n for n in zf.namelist() if not n.endswith("/")]
        extensions = [n for n in names if n.endswith((".so", ".pyd", ".dylib"))]
        for name in names:
            parts = name.split("/")
            base = parts[-1]
            if parts[0].endswith((".dist-info", ".data")):
                continue
            if (set(parts[:-1]) & BAD_DIRS or base.endswith(BAD_SUFFIXES) or base == "conftest.py"
                    or base.startswith("test_") or base.endswith("_test.py")):
                problems.append(f"{wheel.name}: {name} is a test, fixture or build leftover")
            elif name not in extensions and tracked is not None and SOURCES[dist] + name not in tracked:
                problems.append(f"{wheel.name}: {name} is not a file git tracks ({SOURCES[dist]}{name})")
        if dist == "voltyard":
            if extensions != ["voltyard/_native.abi3.so"]:
                problems.append(f"{wheel.name}: extensions {extensions}, expected voltyard/_native.abi3.so alone")
            else:
                arch = next((a for a in ELF_MACHINE if plat.endswith(a)), None)
                elf = zf.read(extensions[0])[:20]
                machine = int.from_bytes(elf[18:20], "little")
                if elf[:4] != b"\x7fELF" or arch is None or machine != ELF_MACHINE[arch]:
                    problems.append(f"{wheel.name}: extension has ELF machine {machine}, expected {arch}")
                if arch is not None and host_target.startswith(arch + "-"):
                    host_wheel = wheel
        elif extensions:
            problems.append(f"{wheel.name}: a pure wheel with extensions {extensions}")
    size = wheel.stat().st_size
    rows.append((f"{py}-{abi}-{plat}", f"{size / 1024:.0f} KiB", wheel.name))
    print(f"build-wheels: {wheel.name}: {len(names)} files, contents checked", file=sys.stderr)

for tag, size, name in rows:
    print(f"{tag:<70} {size:>9}  {name}")
for sdist in sorted(out_dir.glob("voltyard-*.tar.gz")):
    print(f"{'sdist':<70} {sdist.stat().st_size / 1024:>5.0f} KiB  {sdist.name}")

if host_wheel is not None:
    # Import time of the extension from the unpacked wheel, in fresh interpreters (-I: nothing of the
    # caller's paths); the median of five, as the first run also pays for a cold page cache.
    with tempfile.TemporaryDirectory() as tmp:
        zipfile.ZipFile(host_wheel).extractall(tmp)
        probe = (f"import sys, time; sys.path.insert(0, {tmp!r}); t = time.perf_counter(); "
                 "import voltyard._native; print(time.perf_counter() - t)")
        runs = [float(subprocess.run([sys.executable, "-I", "-c", probe], check=True, capture_output=True,
                                     text=True).stdout) for _ in range(5)]
    print(f"import voltyard._native ({host_wheel.name}): {statistics.median(runs) * 1000:.1f} ms "
          f"(median of 5, {sys.implementation.name} {sys.version.split()[0]})")

if problems:
    print("build-wheels: FAILED content check:", *problems, sep="\n  ", file=sys.stderr)
    sys.exit(1)
EOF

(cd "$OUT_DIR" && sha256sum voltyard*.whl $([[ $SDIST -eq 1 ]] && echo voltyard-*.tar.gz) >SHA256SUMS)
echo "build-wheels: built (checksums in $OUT_DIR/SHA256SUMS)" >&2
