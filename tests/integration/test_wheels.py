"""The release wheels, built by scripts/build-wheels.sh and installed where no Rust toolchain is.

Builds the host's wheels into a temporary directory (voltyard for this machine's architecture,
voltyard-tui), checks the voltyard wheel's tags (abi3, manylinux2014) and contents, installs them into a fresh
venv with a PATH that has no cargo or rustc, and uses them from there: the native module must be the
one inside the venv, and it must decode a frame. The aarch64 wheel is run by
scripts/test-wheel-aarch64.sh (docs/building.md). The content check of scripts/check-wheels.py is
tested on wheels made here, without building.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BUILD_SCRIPT = ROOT / "scripts" / "build-wheels.sh"
CHECK_SCRIPT = ROOT / "scripts" / "check-wheels.py"
RUST_TOOLS = ("cargo", "rustc", "rustup")
MANYLINUX2014 = ("manylinux_2_17_", "manylinux2014_")

PROBE = textwrap.dedent(
    """
    import json

    import voltyard
    import voltyard._native
    from voltyard._native import Call
    from voltyard.ocpp.codec import load_codec

    call = load_codec().decode(b'[2,"1","Heartbeat",{}]')
    assert isinstance(call, Call), type(call)
    print(json.dumps({
        "native": voltyard._native.__file__,
        "version": voltyard.__version__,
        "message_id": call.message_id,
        "action": call.action,
        "payload": call.payload,
    }))
    """
)


def run(args: list[str | Path], *, env: dict[str, str] | None = None, cwd: Path) -> str:
    """Run `args`, fail the test with its output on a non-zero exit, return its standard output."""
    proc = subprocess.run(
        [str(arg) for arg in args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    if proc.returncode != 0:
        pytest.fail(
            f"{' '.join(map(str, args))} exited {proc.returncode}\n"
            f"--- stdout (tail) ---\n{proc.stdout[-4000:]}\n--- stderr (tail) ---\n{proc.stderr[-8000:]}"
        )
    return proc.stdout


def path_without_rust(path: str) -> str:
    """`path` less every entry that holds a Rust toolchain binary."""
    kept = [
        entry
        for entry in path.split(os.pathsep)
        if entry and not any(shutil.which(tool, path=entry) for tool in RUST_TOOLS)
    ]
    return os.pathsep.join(kept)


def venv_env(venv: Path) -> dict[str, str]:
    """The environment of the venv's processes: its bin first, no Rust, nothing of the caller's venv."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "CONDA_PREFIX"}
    }
    env["PATH"] = os.pathsep.join([str(venv / "bin"), path_without_rust(os.environ.get("PATH", os.defpath))])
    env["VIRTUAL_ENV"] = str(venv)
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env["PYTHONNOUSERSITE"] = "1"
    return env


def wheel_tags(wheel: Path) -> tuple[str, str, str, str, list[str]]:
    """(name, version, python tag, abi tag, platform tags) of a wheel filename without a build tag."""
    name, version, python_tag, abi_tag, platform_tag = wheel.name.removesuffix(".whl").split("-")
    return name, version, python_tag, abi_tag, platform_tag.split(".")


def one_wheel(out_dir: Path, pattern: str) -> Path:
    wheels = sorted(out_dir.glob(pattern))
    assert len(wheels) == 1, f"expected one {pattern} in {out_dir}, found {[w.name for w in wheels]}"
    return wheels[0]


@pytest.mark.slow
# A hang guard: a cold release build (fat LTO) on a busy 2-core machine takes minutes.
@pytest.mark.timeout(1200)
# Under scripts/test.sh's workers, its group (the RelayControl period measurement) runs after it on the same
# worker, not beside it: the build takes both cores.
@pytest.mark.xdist_group("release_build")
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the wheels are built for Linux")
def test_release_wheels_install_and_run_without_rust(tmp_path: Path) -> None:
    out_dir = tmp_path / "dist"
    started = time.monotonic()
    # Run from an unrelated directory with a relative OUT_DIR: the script must find the repository itself.
    # The host's wheel only: the aarch64 one (a second cold build, and the target's standard library from
    # rustup) is built and run on emulated arm64 by scripts/test-wheel-aarch64.sh before each release.
    env = {**os.environ, "WHEEL_TARGETS": f"{platform.machine()}-unknown-linux-gnu"}
    run(["bash", BUILD_SCRIPT, "dist"], env=env, cwd=tmp_path)
    print(f"build-wheels.sh: {time.monotonic() - started:.1f} s")

    cores = {arch: one_wheel(out_dir, f"voltyard-*-manylinux*_{arch}.whl") for arch in (platform.machine(),)}
    tui = one_wheel(out_dir, "voltyard_tui-*.whl")
    assert sorted(out_dir.glob("voltyard*.whl")) == sorted([*cores.values(), tui])

    for arch, wheel in cores.items():
        name, version, python_tag, abi_tag, platforms = wheel_tags(wheel)
        assert name == "voltyard"
        assert (python_tag, abi_tag) == ("cp311", "abi3"), wheel.name
        assert all(plat.startswith("manylinux") and plat.endswith(arch) for plat in platforms), platforms
        # manylinux2014 is manylinux_2_17: the glibc floor that maturin --zig links against.
        assert any(platform.startswith(MANYLINUX2014) for platform in platforms), platforms
        # The package and its metadata, nothing else: no tests, fixtures or build leftovers.
        with zipfile.ZipFile(wheel) as zf:
            names = zf.namelist()
        assert "voltyard/_native.abi3.so" in names
        assert "voltyard/ocpp/codec.py" in names
        assert [n for n in names if not n.startswith(("voltyard/", f"voltyard-{version}.dist-info/"))] == []
        assert [n for n in names if "test" in n or "fixture" in n or "__pycache__" in n] == []
    core = cores[platform.machine()]
    name, version, python_tag, abi_tag, platforms = wheel_tags(core)
    tui_name, tui_version, tui_python, tui_abi, tui_platforms = wheel_tags(tui)
    assert (tui_name, tui_python, tui_abi, tui_platforms) == ("voltyard_tui", "py3", "none", ["any"])

    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", venv], cwd=tmp_path)
    env = venv_env(venv)
    for tool in RUST_TOOLS:
        assert shutil.which(tool, path=env["PATH"]) is None, f"{tool} is still on the venv's PATH"
    python = venv / "bin" / "python"

    # Binary-only: nothing may be compiled on the way in (a Rust-built dependency would need cargo).
    started = time.monotonic()
    pip_install: list[str | Path] = [python, "-m", "pip", "install", "--quiet", "--only-binary", ":all:"]
    run([*pip_install, core, tui], env=env, cwd=tmp_path)
    print(f"pip install: {time.monotonic() - started:.1f} s")

    # -I: no cwd, PYTHONPATH or user site on sys.path, so only the venv's packages can be imported.
    probe = json.loads(run([python, "-I", "-c", PROBE], env=env, cwd=tmp_path))
    native = Path(probe["native"]).resolve()
    assert native.is_relative_to(venv.resolve()), native
    assert not native.is_relative_to(ROOT), native
    assert native.name.endswith(".abi3.so"), native
    assert probe["version"] == version
    assert probe["message_id"] == "1"
    assert probe["action"] == "Heartbeat"
    assert probe["payload"] == {}

    assert run([venv / "bin" / "voltyard", "--version"], env=env, cwd=tmp_path).split() == [
        "voltyard",
        version,
    ]
    assert run([venv / "bin" / "voltyard-tui", "--version"], env=env, cwd=tmp_path).split() == [
        "voltyard-tui",
        tui_version,
    ]


def elf_header(machine: int) -> bytes:
    """The first 20 bytes of a 64-bit little-endian ELF shared object for `machine` (its e_machine)."""
    return b"\x7fELF\x02\x01\x01" + bytes(9) + (3).to_bytes(2, "little") + machine.to_bytes(2, "little")


def make_wheel(folder: Path, filename: str, files: dict[str, bytes]) -> Path:
    """A wheel named `filename` in `folder` holding `files`, plus the dist-info a wheel has."""
    folder.mkdir(exist_ok=True)
    wheel = folder / filename
    dist, version = filename.split("-")[:2]
    with zipfile.ZipFile(wheel, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
        zf.writestr(f"{dist}-{version}.dist-info/METADATA", f"Name: {dist}\nVersion: {version}\n")
    return wheel


def check_wheels(dist: Path, tracked: list[str]) -> subprocess.CompletedProcess[str]:
    tracked_file = dist.parent / "tracked.txt"
    tracked_file.write_text("\n".join(tracked) + "\n")
    return subprocess.run(
        [sys.executable, CHECK_SCRIPT, dist, "--tracked", tracked_file, "--no-import-time"],
        capture_output=True,
        text=True,
        check=False,
        stdin=subprocess.DEVNULL,
    )


CORE_X86 = "voltyard-0.1.0-cp311-abi3-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
CORE_ARM = "voltyard-0.1.0-cp311-abi3-manylinux_2_17_aarch64.manylinux2014_aarch64.whl"
TUI = "voltyard_tui-0.1.0-py3-none-any.whl"
TRACKED = ["python/voltyard/__init__.py", "python/voltyard/ocpp/codec.py", "tui/src/voltyard_tui/__init__.py"]


def clean_wheels(dist: Path) -> None:
    for filename, machine in ((CORE_X86, 62), (CORE_ARM, 183)):
        make_wheel(
            dist,
            filename,
            {
                "voltyard/__init__.py": b"",
                "voltyard/ocpp/codec.py": b"",
                "voltyard/_native.abi3.so": elf_header(machine) + bytes(64),
            },
        )
    make_wheel(dist, TUI, {"voltyard_tui/__init__.py": b""})


def test_check_wheels_passes_clean_wheels_and_prints_tags_and_sizes(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    clean_wheels(dist)
    proc = check_wheels(dist, TRACKED)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert [line.split()[0] for line in lines] == [
        "cp311-abi3-manylinux_2_17_aarch64.manylinux2014_aarch64",
        "cp311-abi3-manylinux_2_17_x86_64.manylinux2014_x86_64",
        "py3-none-any",
    ]
    assert all(" KiB " in line for line in lines), lines


@pytest.mark.parametrize(
    ("filename", "name", "data", "why"),
    [
        (CORE_X86, "voltyard/tests/test_codec.py", b"", "is a test, fixture or build leftover"),
        (CORE_X86, "voltyard/fixtures/frames/boot.json", b"{}", "is a test, fixture or build leftover"),
        (CORE_X86, "voltyard/conftest.py", b"", "is a test, fixture or build leftover"),
        (CORE_X86, "voltyard/__pycache__/cli.cpython-311.pyc", b"", "is a test, fixture or build leftover"),
        (CORE_X86, "voltyard/ocpp/codec.py.orig", b"", "is a test, fixture or build leftover"),
        (TUI, "voltyard_tui/app.py.rej", b"", "is a test, fixture or build leftover"),
        (CORE_X86, "voltyard/scratch.py", b"", "is not a file git tracks (python/voltyard/scratch.py)"),
        (TUI, "voltyard_tui/notes.txt", b"", "is not a file git tracks (tui/src/voltyard_tui/notes.txt)"),
        (CORE_X86, "voltyard/other.abi3.so", elf_header(62), "extensions"),
        (TUI, "voltyard_tui/_speedups.abi3.so", elf_header(62), "a pure wheel with extensions"),
    ],
)
def test_check_wheels_refuses_leftovers(
    tmp_path: Path, filename: str, name: str, data: bytes, why: str
) -> None:
    dist = tmp_path / "dist"
    clean_wheels(dist)
    wheel = dist / filename
    with zipfile.ZipFile(wheel, "a") as zf:
        zf.writestr(name, data)
    proc = check_wheels(dist, TRACKED)
    assert proc.returncode == 1
    assert f"{filename}: " in proc.stderr, proc.stderr
    assert why in proc.stderr, proc.stderr
    assert proc.stderr.count("\n  ") == 1, proc.stderr


def test_check_wheels_refuses_an_extension_of_the_wrong_architecture(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    clean_wheels(dist)
    # An x86_64 extension in the aarch64 wheel: what a cross build that silently built for the host gives.
    make_wheel(dist, CORE_ARM, {"voltyard/_native.abi3.so": elf_header(62)})
    proc = check_wheels(dist, TRACKED)
    assert proc.returncode == 1
    assert f"{CORE_ARM}: voltyard/_native.abi3.so has ELF machine 62, expected aarch64" in proc.stderr
