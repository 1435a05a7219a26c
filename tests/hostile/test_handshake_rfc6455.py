"""The websocket handshake and framing rules of RFC 6455 that picows leaves to us (issue 17, finding 8).

- A frame with RSV1 set when no extension was negotiated must fail the connection (§5.2: close 1002),
  not be answered as if it were plain text (picows hands such frames over with `frame.rsv1` set).
- A handshake with `Sec-WebSocket-Version` other than 13 must get HTTP 426 with `Sec-WebSocket-Version: 13`
  (§4.4), not an upgrade (picows also upgrades the old drafts 7 and 8).

Over raw sockets against a real appliance, since a websocket client library will not send either.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import struct

import pytest
from voltyard.runtime import Appliance


def _request(port: int, path: str, version: str) -> bytes:
    key = base64.b64encode(os.urandom(16)).decode()
    return (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: {version}\r\n"
        "Sec-WebSocket-Protocol: ocpp1.6\r\n\r\n"
    ).encode()


def _masked_frame(payload: bytes, first_byte: int) -> bytes:
    mask = os.urandom(4)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    assert len(payload) < 126
    return bytes([first_byte, 0x80 | len(payload)]) + mask + masked


async def _read_head(reader: asyncio.StreamReader) -> bytes:
    return await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)


async def test_a_frame_with_rsv1_and_no_extension_is_closed_with_1002(appliance: Appliance) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", appliance.ocpp_port)
    try:
        writer.write(_request(appliance.ocpp_port, "/ocpp/RSV1", "13"))
        head = await _read_head(reader)
        assert head.startswith(b"HTTP/1.1 101"), head
        heartbeat = json.dumps([2, "1", "Heartbeat", {}]).encode()
        writer.write(_masked_frame(heartbeat, 0x80 | 0x40 | 0x1))  # FIN, RSV1, text
        first = await asyncio.wait_for(reader.readexactly(2), 30)
        payload = await asyncio.wait_for(reader.readexactly(first[1] & 0x7F), 30)
        assert first[0] & 0x0F == 0x8, f"expected a close frame, got opcode {first[0] & 0x0F}: {payload!r}"
        assert struct.unpack("!H", payload[:2])[0] == 1002
    finally:
        writer.close()
        await writer.wait_closed()


@pytest.mark.parametrize("version", ["8", "7", "12", "14"])
async def test_a_handshake_of_another_websocket_version_gets_426(appliance: Appliance, version: str) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", appliance.ocpp_port)
    try:
        writer.write(_request(appliance.ocpp_port, "/ocpp/V8", version))
        head = await _read_head(reader)
        assert head.startswith(b"HTTP/1.1 426"), head
        assert b"\r\nsec-websocket-version: 13\r\n" in head.lower()
    finally:
        writer.close()
        await writer.wait_closed()


async def test_version_13_is_still_upgraded(appliance: Appliance) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", appliance.ocpp_port)
    try:
        writer.write(_request(appliance.ocpp_port, "/ocpp/V13", "13"))
        assert (await _read_head(reader)).startswith(b"HTTP/1.1 101")
    finally:
        writer.close()
        await writer.wait_closed()
