"""`voltyard serve` as a child process, for tests that kill it or measure it from outside."""

from __future__ import annotations

import asyncio
import re
import sys
from pathlib import Path

READY = re.compile(rb"voltyard ready: OCPP ws://[^:]+:(\d+)/")
API = re.compile(rb"control API http://[^:]+:(\d+)/")


class ServerProcess:
    """Starts `voltyard serve` on a free port and reads the port from its ready line."""

    def __init__(self, data_dir: Path, *extra: str) -> None:
        self.data_dir = data_dir
        self.extra = extra
        self.process: asyncio.subprocess.Process | None = None
        self.port = 0
        self.api_port = 0
        self.log = bytearray()

    async def start(self, timeout: float = 30) -> int:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "voltyard.cli", "serve", "--host", "127.0.0.1", "--port", "0",
            "--api-port", "0",
            "--data-dir", str(self.data_dir), *self.extra,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        assert self.process.stderr is not None
        async with asyncio.timeout(timeout):
            while True:
                line = await self.process.stderr.readline()
                if not line:
                    raise RuntimeError(f"voltyard serve exited before it was ready:\n{self.log.decode()}")
                self.log += line
                match = READY.search(line)
                if match:
                    self.port = int(match.group(1))
                    self.api_port = int(API.search(line).group(1))  # type: ignore[union-attr]
                    break
        self._drain = asyncio.ensure_future(self._read_rest())
        return self.port

    async def _read_rest(self) -> None:
        assert self.process is not None
        assert self.process.stderr is not None
        while line := await self.process.stderr.readline():
            self.log += line

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()

    async def stop(self) -> int:
        """SIGTERM and wait; returns the exit code."""
        assert self.process is not None
        if self.process.returncode is None:
            self.process.terminate()
        code = await asyncio.wait_for(self.process.wait(), 30)
        await self._drain
        return code
