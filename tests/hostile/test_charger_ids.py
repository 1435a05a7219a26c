"""Charger ids `.` and `..` are refused at the handshake (issue 17, finding 8).

They are URL dot-segments: `/api/v1/chargers/..` resolves to `/api/v1/chargers` in any client or proxy, so a
charger of that id could never be addressed, yet the handshake accepted it (and stored a record). Over a
real appliance and real websocket handshakes; refused like any other bad id (404).
"""

from __future__ import annotations

from contextlib import closing

import pytest
import websockets
from voltyard.runtime import Appliance


@pytest.mark.parametrize("path", ["/ocpp/.", "/ocpp/..", "/ocpp/%2E", "/ocpp/%2e%2E", "/.", "/.."])
async def test_dot_segment_ids_are_refused_at_the_handshake(appliance: Appliance, path: str) -> None:
    with pytest.raises(websockets.InvalidStatus) as refused:
        await websockets.connect(
            f"ws://127.0.0.1:{appliance.ocpp_port}{path}",
            subprotocols=["ocpp1.6"],  # type: ignore[list-item]
            open_timeout=30,
        )
    assert refused.value.response.status_code == 404
    assert b"dot-segment" in refused.value.response.body
    await appliance.store.flush()
    with closing(appliance.read_connection()) as db:
        assert db.execute("SELECT count(*) FROM chargers").fetchone() == (0,)


@pytest.mark.parametrize("charger_id", ["...", ".A", "A.", "A..B"])
async def test_ids_with_dots_that_are_not_dot_segments_still_connect(
    appliance: Appliance, charger_id: str
) -> None:
    ws = await websockets.connect(
        f"ws://127.0.0.1:{appliance.ocpp_port}/ocpp/{charger_id}",
        subprotocols=["ocpp1.6"],  # type: ignore[list-item]
        open_timeout=30,
    )
    await ws.close()
