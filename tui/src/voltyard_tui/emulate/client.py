"""The emulator's only way to the simulator: its control socket (one JSON command per line, one reply).

The commands are those of `voltyard.sim.control` (docs/sim.md, "Control socket"); this module does not
import the simulator, so the console distribution stays apart from it. Each request opens its own
connection: a `send` waiting for the central system's answer does not hold up the polling of the tables.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path
from typing import Any

__all__ = ["ControlClient", "ControlRefusedError", "ControlUnreachableError"]

_LIMIT = 16 * 1024 * 1024  # a `frames` reply of a busy charger can be long


class ControlUnreachableError(Exception):
    """Nothing answers on the socket (the simulator has gone)."""


class ControlRefusedError(Exception):
    """The simulator refused the command; the message is its own, naming what was wrong."""


class ControlClient:
    """Requests to the control socket at `path`."""

    def __init__(self, path: Path, timeout: float = 30.0) -> None:
        self.path = path
        self.timeout = timeout

    async def request(self, command: str, **fields: object) -> dict[str, Any]:
        """The reply of `command`; raises ControlRefusedError for `{"ok": false}`."""
        try:
            reader, writer = await asyncio.open_unix_connection(str(self.path), limit=_LIMIT)
        except OSError as exc:
            raise ControlUnreachableError(
                f"{self.path}: no simulator answers ({exc.strerror or exc})"
            ) from exc
        try:
            writer.write(json.dumps({"command": command, **fields}).encode() + b"\n")
            await writer.drain()
            line = await asyncio.wait_for(reader.readline(), self.timeout)
        except (OSError, TimeoutError) as exc:
            raise ControlUnreachableError(f"{self.path}: no reply to {command} ({exc})") from exc
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
        if not line:
            raise ControlUnreachableError(f"{self.path}: the simulator closed the socket")
        reply = json.loads(line)
        if not isinstance(reply, dict):
            raise ControlUnreachableError(f"{self.path}: unexpected reply {line[:80]!r}")
        if not reply.get("ok"):
            raise ControlRefusedError(str(reply.get("error", "refused")))
        return reply
