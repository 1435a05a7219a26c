"""A charger's websocket connection without a socket: a fake picows transport under a real dispatcher
(voltyard.gateway.connection). Framing, the size limit, the rate limit's back-pressure and closing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, cast

import orjson
import pytest
from picows import WSCloseCode, WSFrame, WSMsgType, WSTransport
from voltyard.errors import ChargerOfflineError
from voltyard.gateway.connection import ChargerConnection, ConnectionContext
from voltyard.ocpp.router import Payload
from voltyard.ocpp.session import Session

from tests.unit.ocpp_parts import HANG_GUARD, Parts, protocol_parts

HEARTBEAT = b'[2,"m%d","Heartbeat",{}]'


class FakeSocket:
    """What the connection touches of the asyncio transport under picows: reading paused and resumed."""

    def __init__(self) -> None:
        self.reading = True
        self.resumed = asyncio.Event()

    def pause_reading(self) -> None:
        self.reading = False

    def resume_reading(self) -> None:
        self.reading = True
        self.resumed.set()

    def get_write_buffer_size(self) -> int:
        return 0  # every answer went out at once


class FakeTransport:
    """picows' WSTransport as the connection uses it; records what goes out."""

    def __init__(self) -> None:
        self.is_disconnected = False
        self.sent: list[tuple[WSMsgType, Any]] = []
        self.closes: list[tuple[WSCloseCode, bytes]] = []
        self.underlying_transport = FakeSocket()

    def send(self, msg_type: WSMsgType, data: bytes) -> None:
        self.sent.append((msg_type, orjson.loads(data)))

    def send_close(self, code: WSCloseCode = WSCloseCode.OK, reason: bytes = b"") -> None:
        self.closes.append((code, reason))

    def send_pong(self, data: bytes) -> None:
        self.sent.append((WSMsgType.PONG, data))

    def disconnect(self, graceful: bool = True) -> None:
        self.is_disconnected = True


class FakeFrame:
    rsv1 = rsv2 = rsv3 = False  # no extension: the reserved bits are clear

    def __init__(
        self, msg_type: WSMsgType, payload: bytes = b"", *, fin: bool = True, code: int = 1000
    ) -> None:
        self.msg_type = msg_type
        self.fin = fin
        self._payload = payload
        self._code = code

    def get_payload_as_bytes(self) -> bytes:
        return self._payload

    def get_payload_as_memoryview(self) -> memoryview:
        return memoryview(self._payload)

    def get_close_code(self) -> WSCloseCode:
        return WSCloseCode(self._code)


def frame(msg_type: WSMsgType, payload: bytes = b"", **kwargs: Any) -> WSFrame:
    return cast("WSFrame", FakeFrame(msg_type, payload, **kwargs))


@asynccontextmanager
async def connected(
    tmp_path: Path, *, rate: float = 1000.0, burst: float = 1000.0, max_frame_size: int = 65536
) -> AsyncIterator[tuple[Parts, ChargerConnection, FakeTransport]]:
    async with protocol_parts(tmp_path) as parts:

        @parts.router.on("Heartbeat")
        def heartbeat(session: Session, payload: Payload) -> Payload:
            return {"currentTime": "2026-01-01T00:00:00Z"}

        parts.accept("CP-1")
        context = ConnectionContext(parts.dispatcher, rate, burst, lambda charger_id: max_frame_size)
        connection = ChargerConnection("CP-1", context, "192.0.2.1", 1)
        transport = FakeTransport()
        connection.on_ws_connected(cast("WSTransport", transport))
        yield parts, connection, transport


async def test_a_text_frame_is_handled_and_answered_on_the_socket(tmp_path: Path) -> None:
    async with connected(tmp_path) as (parts, connection, transport):
        assert parts.registry.get("CP-1") is connection
        connection.on_ws_frame(cast("WSTransport", transport), frame(WSMsgType.TEXT, HEARTBEAT % 1))
        assert transport.sent == [(WSMsgType.TEXT, [3, "m1", {"currentTime": "2026-01-01T00:00:00Z"}])]


async def test_a_fragmented_message_is_joined_first(tmp_path: Path) -> None:
    async with connected(tmp_path) as (_, connection, transport):
        whole = HEARTBEAT % 1
        ws = cast("WSTransport", transport)
        connection.on_ws_frame(ws, frame(WSMsgType.TEXT, whole[:10], fin=False))
        assert transport.sent == []
        connection.on_ws_frame(ws, frame(WSMsgType.CONTINUATION, whole[10:20], fin=False))
        connection.on_ws_frame(ws, frame(WSMsgType.CONTINUATION, whole[20:]))
        assert [message for _, message in transport.sent] == [
            [3, "m1", {"currentTime": "2026-01-01T00:00:00Z"}]
        ]
        # A continuation without a first fragment fails the connection (RFC 6455 §5.4: 1002).
        connection.on_ws_frame(ws, frame(WSMsgType.CONTINUATION, whole))
        assert len(transport.sent) == 1
        assert transport.closes == [(WSCloseCode.PROTOCOL_ERROR, b"continuation frame without a message")]
        assert transport.is_disconnected


async def test_a_message_over_the_size_limit_closes_the_connection_unread(tmp_path: Path) -> None:
    async with connected(tmp_path, max_frame_size=20) as (parts, connection, transport):
        connection.on_ws_frame(cast("WSTransport", transport), frame(WSMsgType.TEXT, HEARTBEAT % 1))
        assert transport.sent == []
        assert transport.closes == [(WSCloseCode.MESSAGE_TOO_BIG, b"message over 20 bytes")]
        assert transport.is_disconnected
        assert parts.metrics.calls_in == {}


async def test_over_its_rate_the_socket_stops_reading_and_the_backlog_is_answered_in_order(
    tmp_path: Path,
) -> None:
    async with connected(tmp_path, rate=200.0, burst=1.0) as (_, connection, transport):
        ws = cast("WSTransport", transport)
        for number in range(1, 4):
            connection.on_ws_frame(ws, frame(WSMsgType.TEXT, HEARTBEAT % number))
        assert len(transport.sent) == 1  # the burst; the rest wait their tokens
        assert not transport.underlying_transport.reading  # TCP pushes back on the charger
        async with asyncio.timeout(HANG_GUARD):
            await transport.underlying_transport.resumed.wait()
        assert [message[1] for _, message in transport.sent] == ["m1", "m2", "m3"]
        assert transport.underlying_transport.reading


async def test_a_close_frame_is_echoed_and_the_end_reaches_the_protocol(tmp_path: Path) -> None:
    async with connected(tmp_path) as (parts, connection, transport):
        ws = cast("WSTransport", transport)
        waiting = asyncio.ensure_future(connection.wait_ready())
        await asyncio.sleep(0)
        connection.on_ws_frame(ws, frame(WSMsgType.CLOSE, code=1001))
        assert transport.closes == [(WSCloseCode.GOING_AWAY, b"")]
        assert transport.is_disconnected
        connection.on_ws_disconnected(ws)
        assert parts.registry.get("CP-1") is None
        assert not parts.chargers.get("CP-1").online
        with pytest.raises(ChargerOfflineError, match="disconnected before it finished booting"):
            async with asyncio.timeout(HANG_GUARD):
                await waiting


async def test_close_takes_the_protocols_close_codes(tmp_path: Path) -> None:
    async with connected(tmp_path) as (_, connection, transport):
        connection.close("replaced by a new connection", 1008)
        assert transport.closes == [(WSCloseCode.POLICY_VIOLATION, b"replaced by a new connection")]
        connection.send(b'[3,"m1",{}]')  # after the close: dropped, not raised
        assert transport.sent == []
