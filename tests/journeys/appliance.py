"""The installed `voltyard` entry point as a user runs it, and a running `voltyard serve` to walk against."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

__all__ = ["ApiAnswer", "RunningAppliance", "voltyard", "voltyard_bin"]

READY = re.compile(r"voltyard ready: OCPP ws://[^:]+:(\d+)/.*control API (http://[^ ]+)/api/v1")


def voltyard_bin() -> Path:
    """The `voltyard` console script installed beside this interpreter (as `pip install .` puts it)."""
    path = Path(sys.executable).parent / "voltyard"
    if not path.exists():
        raise RuntimeError(f"{path}: the voltyard entry point is not installed (pip install .)")
    return path


def voltyard(*args: str, timeout: float = 60, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """Run `voltyard ARGS...` to its end and return what it printed (never raises on a non-zero exit)."""
    return subprocess.run(
        [str(voltyard_bin()), *args], capture_output=True, text=True, timeout=timeout, check=False, **kwargs
    )


class ApiAnswer:
    """One control API answer: the status and the decoded JSON body (None when it is not JSON)."""

    def __init__(self, status: int, body: bytes) -> None:
        self.status = status
        self.raw = body
        try:
            self.json: Any = json.loads(body) if body else None
        except ValueError:
            self.json = None

    def __repr__(self) -> str:
        return f"ApiAnswer({self.status}, {self.raw[:500]!r})"


class RunningAppliance:
    """`voltyard serve` started as a subprocess; its stderr is kept in `log`.

    `start()` passes loopback ports and the data dir as flags unless `flags` is given; `config` (TOML text)
    is written to `data_dir/../voltyard.toml` and passed with --config.
    """

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.process: subprocess.Popen[str] | None = None
        self.ocpp_port = 0
        self.api_url = ""
        self.log: list[str] = []
        self._reader: threading.Thread | None = None
        self._ready = threading.Event()

    @property
    def ocpp_url(self) -> str:
        return f"ws://127.0.0.1:{self.ocpp_port}/ocpp"

    @property
    def text(self) -> str:
        return "".join(self.log)

    def start(self, config: str | None = None, flags: list[str] | None = None, timeout: float = 60) -> None:
        args = ["serve"]
        if config is not None:
            path = self.data_dir.parent / "voltyard.toml"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(config)
            args += ["--config", str(path)]
        if flags is None:
            flags = [
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--api-port",
                "0",
                "--data-dir",
                str(self.data_dir),
            ]
        args += flags
        self.process = subprocess.Popen(
            [str(voltyard_bin()), *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        if not self._ready.wait(timeout) or not self.api_url:
            self.process.kill()
            self.process.wait(10)
            raise RuntimeError(f"voltyard serve did not become ready:\n{self.text}")

    def _read(self) -> None:
        assert self.process is not None
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.log.append(line)
            match = READY.search(line)
            if match and not self._ready.is_set():
                self.ocpp_port, self.api_url = int(match.group(1)), match.group(2)
                self._ready.set()
        self._ready.set()

    def token(self, role: str = "operator") -> str:
        return (self.data_dir / f"api-token-{role}").read_text().strip()

    def api(self, method: str, path: str, body: Any = None, role: str = "operator") -> ApiAnswer:
        """Call the control API (`path` under /api/v1) with the role's token from the data dir."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"{self.api_url}/api/v1{path}",
            data=data,
            method=method,
            headers={"Authorization": f"Bearer {self.token(role)}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return ApiAnswer(response.status, response.read())
        except urllib.error.HTTPError as exc:
            return ApiAnswer(exc.code, exc.read())

    def wait_for(self, predicate: Any, timeout: float = 30, what: str = "condition") -> None:
        """Poll `predicate()` (an observation of the real appliance) until it is true."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}; server log:\n{self.text[-4000:]}")
            time.sleep(0.2)

    def stop(self, timeout: float = 30) -> int:
        """SIGTERM, then the exit code; a server that does not stop in `timeout` is a failure."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.terminate()
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
            raise AssertionError(f"voltyard serve ignored SIGTERM for {timeout} s:\n{self.text}") from None
        if self._reader is not None:
            self._reader.join(10)
        if self.process.stderr is not None:
            self.process.stderr.close()
        return code
