"""`voltyard serve` on each store backend (issue 23), over real sockets: the `ocpp` library's v16
ChargePoint boots, starts and stops a transaction; the server restarts; the control API still shows the
transaction, as stored, and the charger's record."""

from __future__ import annotations

import json
import urllib.request
from contextlib import closing

from ocpp.v16 import call

from tests.conftest import ServedStore
from tests.e2e.peer import connected_peer
from tests.server_process import ServerProcess

START = "2026-12-01T10:00:00Z"
STOP = "2026-12-01T10:30:00Z"


def _api(server: ServerProcess, data_dir, path: str) -> object:
    token = (data_dir / "api-token-operator").read_text().strip()
    request = urllib.request.Request(
        f"http://127.0.0.1:{server.api_port}/api/v1{path}", headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


async def test_a_transaction_answered_before_a_restart_is_shown_after_it(served_store: ServedStore) -> None:
    served_store.add('[ocpp]\nunknown_id_tag = "accept"\n')
    server = ServerProcess(served_store.data_dir, *served_store.flags)
    port = await server.start()
    try:
        async with connected_peer(port, "PG-CP1") as peer:
            await peer.call(call.StatusNotification(connector_id=1, error_code="NoError", status="Preparing"))
            started = await peer.call(
                call.StartTransaction(connector_id=1, id_tag="TAG1", meter_start=1000, timestamp=START)
            )
            transaction_id = started.transaction_id
            assert started.id_tag_info["status"] == "Accepted"
            stopped = await peer.call(
                call.StopTransaction(
                    meter_stop=8500,
                    timestamp=STOP,
                    transaction_id=transaction_id,
                    reason="Local",
                    id_tag="TAG1",
                )
            )
            assert stopped.id_tag_info["status"] == "Accepted"
    finally:
        assert await server.stop() == 0, server.log.decode()

    restarted = ServerProcess(served_store.data_dir, *served_store.flags)
    await restarted.start()
    try:
        shown = _api(restarted, served_store.data_dir, f"/transactions/{transaction_id}")
        charger = _api(restarted, served_store.data_dir, "/chargers/PG-CP1")
    finally:
        assert await restarted.stop() == 0, restarted.log.decode()
    assert isinstance(shown, dict)
    assert (shown["charger_id"], shown["meter_start"], shown["meter_stop"]) == ("PG-CP1", 1000, 8500)
    assert (shown["active"], shown["energy_wh"], shown["stop_reason"]) == (False, 7500, "Local")
    assert isinstance(charger, dict)
    assert (charger["vendor"], charger["model"]) == ("ocpp-library", "Peer")
    with closing(served_store.reader()) as db:
        (events,) = db.execute(
            "SELECT count(*) FROM events WHERE kind IN ('TransactionStarted', 'TransactionStopped')"
        ).fetchone()
    assert events == 2
