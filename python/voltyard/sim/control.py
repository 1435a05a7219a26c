"""The control socket of a running simulator: a unix socket taking one JSON command per line.

`voltyard sim inject-fault`, `voltyard sim stations`, `voltyard sim station` and `voltyard emulate` connect
to it; so can any script.
Each command gets one JSON line back: `{"ok": true, ...}` or `{"ok": false, "error": "..."}` naming what
was wrong. The commands (docs/sim.md, "Control socket", is the same list):

- `{"command": "status"}`: `online`, `chargers`, `sessions`, `paused`.
- `{"command": "chargers"}`: `chargers`, a list of `{id, version, online, booted, queued, connectors:
  [{connector, status, error_code, plugged, session: null | {id_tag, transaction_id}}]}`.
- `{"command": "plug" | "unplug", "charger": ID, "connector": N}`: the cable in or out (out ends a
  session with EVDisconnected); answers `status`.
- `{"command": "present-tag", "charger": ID, "connector": N, "id_tag": TAG}`: the driver presents a tag:
  Authorize, then the start of a transaction, as the charger's OCPP version does (plugs in first).
- `{"command": "stop", "charger": ID, "connector": N}`: the driver ends the session (reason Local).
- `{"command": "inject-fault", "charger": ID, "connector": N, "code": ERROR_CODE}` and
  `{"command": "clear-fault", "charger": ID, "connector": N}`.
- `{"command": "offline" | "online", "charger": ID}`: drop the link and stay off (transaction messages
  queue), then come back and replay them.
- `{"command": "send", "charger": ID, "frame": TEXT}` or `{..., "action": A, "payload": {...}}`: send
  a frame on the charger's connection (the crafter's path); answers `kind` (CALLRESULT, CALLERROR,
  CALLRESULTERROR or timeout), `answer` (the frame text) and `rtt_ms`. Needs the frame log.
- `{"command": "frames", "charger": ID, "since": SEQ}`: the frame log entries of that charger after
  sequence number SEQ (0: all kept), each `{seq, time, direction, type, message_id, action, rtt_ms,
  frame}`, and `last`, the sequence number to poll from next. Needs the frame log (`--frames`).
- `{"command": "template", "charger": ID}` (and `"action": A`): the actions of the charger's OCPP
  version, and a payload of A its schema accepts, to edit before a `send`.
- `{"command": "pause"}` / `{"command": "resume"}`: hold the run's plan (no step runs) and go on; with
  `"charger": ID`, that station's plan only (`voltyard sim station pause|resume`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import orjson

from voltyard.sim.errors import ControlError

__all__ = ["ControlServer", "default_socket_path", "send_command"]

# A command is answered at once, or awaited (`send` waits for the central system's answer).
Handler = Callable[[dict[str, Any]], dict[str, Any] | Awaitable[dict[str, Any]]]


def default_socket_path() -> Path:
    """`$XDG_RUNTIME_DIR/voltyard-sim/control.sock`, else under /tmp per user."""
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    run_dir = Path(runtime) / "voltyard-sim" if runtime else Path(f"/tmp/voltyard-sim-{os.getuid()}")
    return run_dir / "control.sock"


class ControlServer:
    """Serves commands to `handler` on a unix socket while a run lasts."""

    def __init__(self, path: Path, handler: Handler) -> None:
        self.path = path
        self._handler = handler
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        if self.path.is_socket():
            # A socket left by a run that died; a live run would answer, and then we refuse to start.
            try:
                send_command(self.path, {"command": "status"}, timeout=1.0)
            except ControlError:
                self.path.unlink()
            else:
                raise ControlError(f"{self.path}: another simulator is running (use --control-socket)")
        self._server = await asyncio.start_unix_server(self._serve, path=str(self.path))

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while line := await reader.readline():
                try:
                    command = orjson.loads(line)
                    if not isinstance(command, dict):
                        raise ValueError("a command is a JSON object")
                    answer = self._handler(command)
                    reply = answer if isinstance(answer, dict) else await answer
                except (ValueError, KeyError, TypeError) as exc:
                    reply = {"ok": False, "error": str(exc)}
                writer.write(orjson.dumps(reply) + b"\n")
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()


def send_command(path: Path, command: dict[str, Any], timeout: float = 5.0) -> dict[str, Any]:
    """Send one command to a running simulator and return its reply (blocking; for the CLI)."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(str(path))
            sock.sendall(orjson.dumps(command) + b"\n")
            data = b""
            while not data.endswith(b"\n"):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
    except OSError as exc:
        raise ControlError(f"{path}: no simulator answers there ({exc.strerror or exc})") from exc
    try:
        reply = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise ControlError(f"{path}: unreadable reply {data[:80]!r}") from exc
    if not isinstance(reply, dict):
        raise ControlError(f"{path}: unexpected reply {reply!r}")
    return reply
