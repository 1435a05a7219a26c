"""A hand-written websocket client on a raw blocking socket, for the tests/hostile/test_bounds_* probes
(issue 18, "memory stays bounded"): it sends what no library would (ping floods, bare continuations,
endless fragments) and can leave what the server sends unread. Also: the server's RSS and its /metrics.
"""

from __future__ import annotations

import base64
import json
import os
import re
import socket
import struct
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.journeys.appliance import RunningAppliance

# Opcodes (RFC 6455 §5.2).
CONTINUATION, TEXT, CLOSE, PING, PONG = 0x0, 0x1, 0x8, 0x9, 0xA
HANG_GUARD = 60.0  # seconds: only against a hang, never a timing assertion


def frame(opcode: int, payload: bytes = b"", *, fin: bool = True) -> bytes:
    """One client frame (masked, as a client must; a zero mask keeps building floods cheap)."""
    head = bytes([(0x80 if fin else 0) | opcode])
    size = len(payload)
    if size < 126:
        head += bytes([0x80 | size])
    elif size < 65536:
        head += bytes([0x80 | 126]) + struct.pack("!H", size)
    else:
        head += bytes([0x80 | 127]) + struct.pack("!Q", size)
    return head + b"\0\0\0\0" + payload


def call(message_id: str, action: str, payload: object) -> bytes:
    return frame(TEXT, json.dumps([2, message_id, action, payload]).encode())


class RawWebSocket:
    """A websocket over a blocking socket: the upgrade, frames out, frames in (unmasked, from a server)."""

    def __init__(
        self, port: int, path: str, *, rcvbuf: int | None = None, headers: str = "", ocpp: bool = True
    ) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf is not None:  # before connect, so that the window the server sees is small
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(HANG_GUARD)
        self.sock.connect(("127.0.0.1", port))
        key = base64.b64encode(os.urandom(16)).decode()
        protocol = "Sec-WebSocket-Protocol: ocpp1.6\r\n" if ocpp else ""  # the stream speaks none
        self.sock.sendall(
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n{protocol}{headers}\r\n".encode()
        )
        self._buffer = b""
        while b"\r\n\r\n" not in self._buffer:
            chunk = self.sock.recv(4096)
            assert chunk, f"closed during the handshake: {self._buffer!r}"
            self._buffer += chunk
        head, self._buffer = self._buffer.split(b"\r\n\r\n", 1)
        assert head.startswith(b"HTTP/1.1 101"), head

    def close(self) -> None:
        self.sock.close()

    def _read(self, size: int) -> bytes:
        while len(self._buffer) < size:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed by the server")
            self._buffer += chunk
        data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data

    def read_frame(self) -> tuple[int, bytes]:
        """The next frame's opcode and payload."""
        first, second = self._read(2)
        size = second & 0x7F
        if size == 126:
            size = struct.unpack("!H", self._read(2))[0]
        elif size == 127:
            size = struct.unpack("!Q", self._read(8))[0]
        return first & 0x0F, self._read(size)

    def read_message(self) -> list[object]:
        """The next text message, as JSON (pongs and pings in between are skipped)."""
        while True:
            opcode, payload = self.read_frame()
            if opcode == TEXT:
                loaded: list[object] = json.loads(payload)
                return loaded
            assert opcode in (PING, PONG), f"expected a text frame, got opcode {opcode}: {payload!r}"

    def close_code(self) -> int:
        """Read on to the server's close frame; its code."""
        while True:
            opcode, payload = self.read_frame()
            if opcode == CLOSE:
                code: int = struct.unpack("!H", payload[:2])[0]
                return code

    def wait_gone(self) -> None:
        """Read (and throw away) until the server has closed the socket: EOF or a reset."""
        try:
            while self.sock.recv(1 << 20):
                pass
        except ConnectionResetError:
            pass


def start(tmp_path: Path, *, admission: str = "", server: str = "", ocpp: str = "") -> RunningAppliance:
    """`voltyard serve` as a subprocess with these extra [admission], [server] and [ocpp] keys."""
    appliance = RunningAppliance(tmp_path / "data")
    appliance.start(f"[server]\n{server}\n[ocpp]\n{ocpp}\n[admission]\n{admission}\n")
    return appliance


@contextmanager
def running(tmp_path: Path, **sections: str) -> Iterator[RunningAppliance]:
    appliance = start(tmp_path, **sections)
    try:
        yield appliance
    finally:
        appliance.stop()


def rss_bytes(appliance: RunningAppliance) -> int:
    """The server process's resident set size now."""
    assert appliance.process is not None
    status = Path(f"/proc/{appliance.process.pid}/status").read_text()
    match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
    assert match, status
    return int(match[1]) * 1024


def metrics(appliance: RunningAppliance) -> str:
    request = urllib.request.Request(
        appliance.api_url + "/metrics", headers={"Authorization": f"Bearer {appliance.token('readonly')}"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        text: str = response.read().decode()
        return text


def metric(appliance: RunningAppliance, series: str) -> float:
    """The value of one series ('voltyard_connections_closed_total{reason="unsent"}'); 0 when absent."""
    for line in metrics(appliance).splitlines():
        name, _, value = line.rpartition(" ")
        if name == series:
            return float(value)
    return 0.0


def wait_metric(appliance: RunningAppliance, series: str, at_least: float = 1) -> float:
    """Poll /metrics until `series` reaches `at_least` (a hang guard, not a timing assertion; half of
    pytest's timeout, so that a series that never comes fails by name)."""
    deadline = time.monotonic() + HANG_GUARD / 2
    while (value := metric(appliance, series)) < at_least:
        if time.monotonic() > deadline:
            raise AssertionError(f"{series} stayed at {value}; server log:\n{appliance.text[-3000:]}")
        time.sleep(0.2)
    return value


def heartbeat_answered(appliance: RunningAppliance, charger_id: str) -> None:
    """Another charger connects, and its Heartbeat is answered."""
    ws = RawWebSocket(appliance.ocpp_port, f"/ocpp/{charger_id}")
    try:
        ws.sock.sendall(call("hb", "Heartbeat", {}))
        answer = ws.read_message()
        assert answer[:2] == [3, "hb"], answer
    finally:
        ws.close()


def wait_rss_below(appliance: RunningAppliance, limit: int) -> int:
    """Poll the server's RSS until it is under `limit` bytes (memory released, once the store has
    committed what the traffic left buffered); the last value seen. A hang guard, not a timing check:
    memory held for good never gets under, and fails."""
    deadline = time.monotonic() + HANG_GUARD / 2
    while (rss := rss_bytes(appliance)) >= limit and time.monotonic() < deadline:
        time.sleep(0.2)
    return rss
