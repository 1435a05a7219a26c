"""The console shows a real session's start time against a real appliance (issue 16, the first drift bug).

The API sends a session's `start_time` as ISO 8601; a console that read it as unix seconds showed a dash on
every screen that lists sessions, while its own tests passed against a fake API that served floats. Here
nothing is faked: the installed `voltyard serve` on a fresh data dir, a charger (the `ocpp` library's
ChargePoint over a real websocket) that starts a session over OCPP, and the console driven by Pilot.
The expected text is computed from the API's own answer with the standard library, not with the console's
parser, so a console that cannot read the API's times cannot agree with it by accident.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import datetime
from typing import Any

import pytest
from ocpp.v16 import call

from tests.e2e.peer import connected_peer
from tests.journeys.appliance import RunningAppliance

textual = pytest.importorskip("textual", reason="the console (pip install ./tui) is not installed")

from textual.widgets import DataTable  # noqa: E402 - after the skip: only with the console installed
from textual.worker import WorkerCancelled  # noqa: E402
from voltyard_tui.app import VoltyardApp  # noqa: E402
from voltyard_tui.client import ApiClient  # noqa: E402
from voltyard_tui.screens.charger_detail import ChargerDetailScreen  # noqa: E402
from voltyard_tui.screens.transactions import TransactionsScreen  # noqa: E402

SIZE = (160, 40)
CHARGER = "CP-TIMES"
TAG = "CARD-TIMES"
STARTED_AT = "2026-11-25T10:17:42Z"  # the charger's own clock: seconds that a wrong parse cannot hit
HANG_GUARD_S = 30.0


def rows(table: DataTable[Any]) -> list[list[str]]:
    return [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]


def local(iso: str) -> str:
    """The API's ISO time as the console should print it (local time, to the second)."""
    stamp = datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(stamp))


async def loaded(pilot: Any, app: VoltyardApp, group: str) -> None:
    """Until the screen's load worker (`group`) has answered: a wait on the worker, not a poll of the table.

    The screen starts the worker when it mounts (done by the first pause); a worker that has already
    finished is gone from the manager, so an empty list means it has answered.
    """

    async def drained() -> None:
        # An exclusive worker is cancelled by the next reload (a stream event): wait for that one too.
        while workers := [w for w in app.workers if w.group == group]:
            with contextlib.suppress(WorkerCancelled):
                await workers[-1].wait()
            await pilot.pause()

    await pilot.pause()
    await asyncio.wait_for(drained(), HANG_GUARD_S)
    await pilot.pause()


async def test_console_shows_a_real_sessions_start_time(appliance: RunningAppliance) -> None:
    tag = await asyncio.to_thread(appliance.api, "PUT", f"/id-tags/{TAG}", {"status": "Accepted"})
    assert tag.status == 200, tag
    async with connected_peer(appliance.ocpp_port, CHARGER) as charger:
        started = await charger.call(
            call.StartTransaction(connector_id=1, id_tag=TAG, meter_start=500, timestamp=STARTED_AT)
        )
        tx = str(started.transaction_id)
        answer = await asyncio.to_thread(appliance.api, "GET", f"/transactions/{tx}")
        assert answer.status == 200, answer
        api_start = answer.json["start_time"]
        assert isinstance(api_start, str), f"the API sends ISO 8601 times: {answer.json}"
        expected = local(api_start)

        app = VoltyardApp(ApiClient(appliance.api_url, appliance.token()), operator="olga")
        async with app.run_test(size=SIZE) as pilot:
            # The transactions list.
            await pilot.press("h")
            await loaded(pilot, app, "history")
            assert isinstance(app.screen, TransactionsScreen)
            history = [r for r in rows(app.screen.query_one("#history", DataTable)) if r[0] == tx]
            assert history, f"transaction {tx} not listed"
            assert history[0][4] == expected, f"started {history[0][4]!r}, the API says {api_start}"

            # The charger's detail (the screen the chargers list and the palette open).
            await app.push_screen(ChargerDetailScreen(CHARGER))
            await loaded(pilot, app, "detail")
            assert isinstance(app.screen, ChargerDetailScreen)
            sessions = [r for r in rows(app.screen.query_one("#sessions", DataTable)) if r[0] == tx]
            assert sessions, f"transaction {tx} not on {CHARGER}'s detail"
            assert sessions[0][3] == expected, f"started {sessions[0][3]!r}, the API says {api_start}"
