"""The bounds of one charger connection without a socket (issue 18): unread answers pause it and then
close it (by bytes, by time), pings over their rate pause it and are answered once, fragments count as
they grow. The fakes of test_gateway_connection under a real dispatcher; tests/hostile/test_bounds_*
probe the same over real sockets."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import cast

from picows import WSCloseCode, WSMsgType, WSTransport
from voltyard.gateway.connection import MAX_FRAGMENTS, ChargerConnection, ConnectionContext
from voltyard.ocpp.router import Payload
from voltyard.ocpp.session import Session

from tests.unit.ocpp_parts import HANG_GUARD, Parts, protocol_parts
from tests.unit.test_gateway_connection import HEARTBEAT, FakeSocket, FakeTransport, frame


class BufferingSocket(FakeSocket):
    """A socket whose write buffer holds `unsent` bytes (the charger is not reading)."""

    def __init__(self) -> None:
        super().__init__()
        self.unsent = 0

    def get_write_buffer_size(self) -> int:
        return self.unsent


@asynccontextmanager
async def connected(
    tmp_path: Path, **limits: float
) -> AsyncIterator[tuple[Parts, ChargerConnection, FakeTransport, BufferingSocket]]:
    async with protocol_parts(tmp_path) as parts:

        @parts.router.on("Heartbeat")
        def heartbeat(session: Session, payload: Payload) -> Payload:
            return {"currentTime": "2026-01-01T00:00:00Z"}

        parts.accept("CP-1")
        context = ConnectionContext(parts.dispatcher, 1000.0, 1000.0, lambda charger_id: 1024, **limits)  # type: ignore[arg-type]
        connection = ChargerConnection("CP-1", context, "192.0.2.1", 1)
        transport = FakeTransport()
        socket = BufferingSocket()
        transport.underlying_transport = socket
        connection.on_ws_connected(cast("WSTransport", transport))
        yield parts, connection, transport, socket


async def test_unread_answers_pause_reading_and_resume_once_drained(tmp_path: Path) -> None:
    async with connected(tmp_path) as (parts, connection, transport, socket):
        connection.pause_writing()
        assert not socket.reading
        assert parts.metrics.connections_paused == {"unsent": 1}
        connection.resume_writing()
        assert socket.reading
        assert transport.closes == []


async def test_more_unsent_bytes_than_the_limit_close_the_connection(tmp_path: Path) -> None:
    async with connected(tmp_path, max_unsent_bytes=100_000) as (parts, connection, transport, socket):
        ws = cast("WSTransport", transport)
        connection.pause_writing()
        socket.unsent = 100_001
        connection.on_ws_frame(ws, frame(WSMsgType.TEXT, HEARTBEAT % 1))  # its answer passes the limit
        assert transport.closes == [(WSCloseCode.POLICY_VIOLATION, b"answers left unread")]
        assert transport.is_disconnected
        assert parts.metrics.connections_closed == {"unsent": 1}
        connection.on_ws_frame(ws, frame(WSMsgType.TEXT, HEARTBEAT % 2))  # read before the close: dropped
        assert len(transport.sent) == 1


async def test_answers_unread_for_the_timeout_close_the_connection(tmp_path: Path) -> None:
    async with connected(tmp_path, unsent_timeout=0.01) as (parts, connection, transport, _):
        connection.pause_writing()
        async with asyncio.timeout(HANG_GUARD):
            while not transport.is_disconnected:
                await asyncio.sleep(0.01)
        assert transport.closes == [(WSCloseCode.POLICY_VIOLATION, b"answers left unread")]
        assert parts.metrics.connections_closed == {"unsent": 1}


async def test_pings_over_their_rate_are_answered_once_for_the_latest(tmp_path: Path) -> None:
    limits = {"control_frame_rate": 100.0, "control_frame_burst": 2.0}
    async with connected(tmp_path, **limits) as (parts, connection, transport, socket):
        ws = cast("WSTransport", transport)
        for number in range(4):  # two in the burst, two over it
            connection.on_ws_frame(ws, frame(WSMsgType.PING, b"%d" % number))
        assert transport.sent == [(WSMsgType.PONG, b"0"), (WSMsgType.PONG, b"1")]
        assert not socket.reading
        async with asyncio.timeout(HANG_GUARD):
            await socket.resumed.wait()
        assert transport.sent[2:] == [(WSMsgType.PONG, b"3")]
        assert parts.metrics.connections_paused == {"control_frames": 1}
        assert transport.closes == []


async def test_a_ping_flood_closes_the_connection(tmp_path: Path) -> None:
    limits = {"control_frame_rate": 1.0, "control_frame_burst": 2.0}
    async with connected(tmp_path, **limits) as (parts, connection, transport, _):
        ws = cast("WSTransport", transport)
        for _ in range(100):
            connection.on_ws_frame(ws, frame(WSMsgType.PING, b"x"))
        assert transport.closes == [(WSCloseCode.POLICY_VIOLATION, b"control frames far over their rate")]
        assert len(transport.sent) == 2  # the burst's pongs, then nothing
        assert parts.metrics.connections_closed == {"control_frames": 1}


async def test_an_unfinished_message_is_closed_as_soon_as_it_passes_the_limit(tmp_path: Path) -> None:
    async with connected(tmp_path) as (parts, connection, transport, _):
        ws = cast("WSTransport", transport)
        connection.on_ws_frame(ws, frame(WSMsgType.TEXT, b"[" * 500, fin=False))
        connection.on_ws_frame(ws, frame(WSMsgType.CONTINUATION, b" " * 500, fin=False))
        assert transport.closes == []
        connection.on_ws_frame(ws, frame(WSMsgType.CONTINUATION, b" " * 500, fin=False))  # 1500 > 1024
        assert transport.closes == [(WSCloseCode.MESSAGE_TOO_BIG, b"message over 1024 bytes")]
        assert parts.metrics.connections_closed == {"message_too_big": 1}


async def test_a_message_in_too_many_fragments_is_closed(tmp_path: Path) -> None:
    async with connected(tmp_path) as (parts, connection, transport, _):
        ws = cast("WSTransport", transport)
        connection.on_ws_frame(ws, frame(WSMsgType.TEXT, b"[", fin=False))
        for _ in range(MAX_FRAGMENTS):
            connection.on_ws_frame(ws, frame(WSMsgType.CONTINUATION, b"", fin=False))
        assert transport.closes == [
            (WSCloseCode.MESSAGE_TOO_BIG, f"message in over {MAX_FRAGMENTS} fragments".encode())
        ]
        assert parts.metrics.connections_closed == {"fragments": 1}


async def test_bare_continuations_close_once(tmp_path: Path) -> None:
    async with connected(tmp_path) as (parts, connection, transport, _):
        ws = cast("WSTransport", transport)
        for _ in range(1000):
            connection.on_ws_frame(ws, frame(WSMsgType.CONTINUATION, b"{}"))
        assert transport.closes == [(WSCloseCode.PROTOCOL_ERROR, b"continuation frame without a message")]
        assert parts.metrics.connections_closed == {"protocol_error": 1}
