"""A real redis-server for the cluster tests: Debian's `redis-server` on 127.0.0.1, a free port and a
temporary directory, nothing persisted (`--save '' --appendonly no`).

`start()` returns once the server answers PING; `kill()` SIGKILLs it (a crash: what the nodes must survive)
and `start()` again brings it back on the same port, empty. No mock: the nodes speak to this server.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

PACKAGE = "redis-server"  # Debian's package of the binary


class RedisServerMissingError(RuntimeError):
    """The redis-server binary is not installed."""


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM when the test process dies, so that a killed pytest (a hang guard,
    ^C twice) leaves no redis-server behind (Linux's PR_SET_PDEATHSIG)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGTERM)  # 1: PR_SET_PDEATHSIG


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def answers_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer:
    """One redis-server process; the port is kept across restarts (nodes reconnect to the same URL)."""

    def __init__(self, directory: Path, port: int | None = None, *, search_path: str | None = None) -> None:
        # `search_path`: where to look for the binary instead of $PATH and /usr/sbin:/usr/bin (Debian's).
        path = search_path if search_path is not None else f"{os.environ.get('PATH', '')}:/usr/sbin:/usr/bin"
        binary = shutil.which("redis-server", path=path)
        if binary is None:
            raise RedisServerMissingError(
                f"redis-server is not installed: the cluster tests need Debian's package `{PACKAGE}` "
                f"(apt-get install -y {PACKAGE})"
            )
        self.binary = binary
        self.directory = directory
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 15.0) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        log = self.directory / "redis.log"
        self.process = subprocess.Popen(
            [
                self.binary,
                "--bind", "127.0.0.1",
                "--port", str(self.port),
                "--dir", str(self.directory),
                "--save", "",
                "--appendonly", "no",
                "--logfile", str(log),
                "--daemonize", "no",
                "--protected-mode", "no",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=_die_with_parent,  # noqa: PLW1509 (prctl only: async-signal-safe enough)
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        while not answers_ping(self.port):
            if self.process.poll() is not None:
                tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
                raise RuntimeError(f"redis-server exited with {self.process.returncode}: {tail}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"redis-server on port {self.port} did not answer PING in {timeout} s")
            time.sleep(0.02)

    def kill(self) -> None:
        """SIGKILL the server (a crash) and reap it."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
            self.process = None

    def flushall(self) -> None:
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as conn:
            conn.sendall(b"FLUSHALL\r\n")
            if not conn.recv(16).startswith(b"+OK"):
                raise RuntimeError("FLUSHALL failed")
