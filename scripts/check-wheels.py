"""Check Voltyard's built wheels and print their tags and sizes (and the host wheel's import time).

usage: python scripts/check-wheels.py DIST_DIR [--tracked FILE]

Every voltyard*.whl in DIST_DIR is listed and checked:
- no tests, fixtures or build leftovers (test and cache folders, bytecode, patch rejects, logs,
  databases, object files, nested archives);
- with --tracked (the output of `git ls-files python/voltyard tui/src/voltyard_tui`): only files that
  git tracks, besides the extension, so an untracked copy of anything in the source tree cannot ship;
- voltyard wheels hold exactly one extension, voltyard/_native.abi3.so, built for the architecture
  the wheel's platform tag names (its ELF header's machine); the voltyard-tui wheel holds none.
Exits 1 naming every problem. Used by scripts/build-wheels.sh and the release workflow.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

# ELF e_machine of the architectures a wheel's platform tag can end with.
ELF_MACHINE = {"x86_64": 62, "aarch64": 183}
EXTENSION = "voltyard/_native.abi3.so"
BAD_DIRS = {
    "tests",
    "test",
    "fixtures",
    "__pycache__",
    "target",
    "build",
    "dist",
    ".git",
    ".pytest_cache",
    ".mypy_cache",
    ".ruff_cache",
    ".hypothesis",
    ".schemathesis",
    ".venv",
}
BAD_SUFFIXES = (
    ".pyc",
    ".pyo",
    ".orig",
    ".rej",
    ".swp",
    ".bak",
    ".log",
    ".db",
    ".sqlite",
    ".sqlite3",
    ".whl",
    ".tar.gz",
    ".o",
    ".a",
    ".d",
    ".rlib",
    ".rmeta",
    ".profraw",
)
# Where each distribution's files sit in the repository, as git lists them.
SOURCES = {"voltyard": "python/", "voltyard_tui": "tui/src/"}


def problems_of(wheel: Path, tracked: set[str] | None) -> tuple[list[str], int, str | None]:
    """(problems, number of files, architecture of the extension or None) of one wheel."""
    dist, _version, _python, _abi, plat = wheel.name.removesuffix(".whl").split("-")
    problems: list[str] = []
    with zipfile.ZipFile(wheel) as zf:
        names = [n for n in zf.namelist() if not n.endswith("/")]
        extensions = [n for n in names if n.endswith((".so", ".pyd", ".dylib"))]
        for name in names:
            parts = name.split("/")
            if parts[0].endswith((".dist-info", ".data")):
                continue
            base = parts[-1]
            if (
                set(parts[:-1]) & BAD_DIRS
                or base.endswith(BAD_SUFFIXES)
                or base == "conftest.py"
                or base.startswith("test_")
                or base.endswith("_test.py")
            ):
                problems.append(f"{wheel.name}: {name} is a test, fixture or build leftover")
            elif name not in extensions and tracked is not None and SOURCES[dist] + name not in tracked:
                problems.append(f"{wheel.name}: {name} is not a file git tracks ({SOURCES[dist]}{name})")
        if dist != "voltyard":
            if extensions:
                problems.append(f"{wheel.name}: a pure wheel with extensions {extensions}")
            return problems, len(names), None
        if extensions != [EXTENSION]:
            problems.append(f"{wheel.name}: extensions {extensions}, expected {EXTENSION} alone")
            return problems, len(names), None
        arch = next((a for a in ELF_MACHINE if plat.endswith(a)), None)
        header = zf.read(EXTENSION)[:20]
        machine = int.from_bytes(header[18:20], "little")
        if header[:4] != b"\x7fELF" or arch is None or machine != ELF_MACHINE[arch]:
            problems.append(f"{wheel.name}: {EXTENSION} has ELF machine {machine}, expected {arch}")
        return problems, len(names), arch


def import_time(wheel: Path) -> float:
    """Median seconds of `import voltyard._native` from the unpacked wheel, in five fresh interpreters.

    -I keeps the caller's paths out; the median, as the first run also pays for a cold page cache.
    """
    with tempfile.TemporaryDirectory() as tmp:
        with zipfile.ZipFile(wheel) as zf:
            zf.extractall(tmp)
        probe = (
            f"import sys, time; sys.path.insert(0, {tmp!r}); t = time.perf_counter(); "
            "import voltyard._native; print(time.perf_counter() - t)"
        )
        runs = [
            float(
                subprocess.run(
                    [sys.executable, "-I", "-c", probe], check=True, capture_output=True, text=True
                ).stdout
            )
            for _ in range(5)
        ]
    return statistics.median(runs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dist", type=Path, help="folder of the built wheels")
    parser.add_argument("--tracked", type=Path, help="file listing the files git tracks, one a line")
    parser.add_argument(
        "--no-import-time", action="store_true", help="do not import the host's wheel to time it"
    )
    args = parser.parse_args()
    tracked = set(args.tracked.read_text().split()) if args.tracked else None

    wheels = sorted(args.dist.glob("voltyard*.whl"))
    if not wheels:
        print(f"check-wheels: no voltyard*.whl in {args.dist}", file=sys.stderr)
        return 1
    problems: list[str] = []
    host_wheel = None
    for wheel in wheels:
        found, files, arch = problems_of(wheel, tracked)
        problems += found
        _dist, _version, python, abi, plat = wheel.name.removesuffix(".whl").split("-")
        tag = f"{python}-{abi}-{plat}"
        print(f"{tag:<74} {wheel.stat().st_size / 1024:>6.0f} KiB  {files:>3} files  {wheel.name}")
        if arch is not None and arch == platform.machine() and not found:
            host_wheel = wheel
    for sdist in sorted(args.dist.glob("voltyard-*.tar.gz")):
        print(f"{'sdist':<74} {sdist.stat().st_size / 1024:>6.0f} KiB             {sdist.name}")
    if host_wheel is not None and not args.no_import_time:
        seconds = import_time(host_wheel)
        print(
            f"import voltyard._native from {host_wheel.name}: {seconds * 1000:.1f} ms "
            f"(median of 5, CPython {platform.python_version()})"
        )
    sys.stdout.flush()  # the listing first, then the verdict, also when both go to one pipe
    if problems:
        print("check-wheels: FAILED:", *problems, sep="\n  ", file=sys.stderr)
        return 1
    print(
        f"check-wheels: {len(wheels)} wheels checked: no tests, fixtures or build leftovers", file=sys.stderr
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
