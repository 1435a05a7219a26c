"""The release wheels, built by scripts/build-wheels.sh and installed where no Rust toolchain is.

Builds both wheels into a temporary directory, checks the voltyard wheel's tags (abi3, manylinux),
installs them into a fresh venv with a PATH that has no cargo or rustc, and uses them from there:
the native module must be the one inside the venv, and it must decode a frame.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BUILD_SCRIPT = ROOT / "scripts" / "build-wheels.sh"
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
@pytest.mark.timeout(1200)
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the wheels are built for Linux")
def test_release_wheels_install_and_run_without_rust(tmp_path: Path) -> None:
    out_dir = tmp_path / "dist"
    started = time.monotonic()
    # Run from an unrelated directory with a relative OUT_DIR: the script must find the repository itself.
    run(["bash", BUILD_SCRIPT, "dist"], cwd=tmp_path)
    print(f"build-wheels.sh: {time.monotonic() - started:.1f} s")

    core = one_wheel(out_dir, "voltyard-*.whl")
    tui = one_wheel(out_dir, "voltyard_tui-*.whl")

    name, version, python_tag, abi_tag, platforms = wheel_tags(core)
    assert name == "voltyard"
    assert "abi3" in core.name
    assert "manylinux" in core.name
    assert (python_tag, abi_tag) == ("cp311", "abi3")
    assert all(platform.startswith("manylinux") for platform in platforms), platforms
    # manylinux2014 is manylinux_2_17: the glibc floor that maturin --zig links against.
    assert any(platform.startswith(MANYLINUX2014) for platform in platforms), platforms
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
