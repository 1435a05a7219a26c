"""A 2.0.1 charger at a site that is uplinked over OCPP 1.6 (issue 24), as a user runs it: a site `voltyard
serve` with `[uplink]` towards an upstream `voltyard serve` (its own data dir), both the installed entry
point, and the `ocpp` library's v201 ChargePoint as the site's charger over a real socket.

- the charger's transaction appears upstream (as a 1.6 charge point's) with the same energy and the same
  meter values, and its connector's state in 1.6's words;
- the upstream API's RemoteStartTransaction reaches the 2.0.1 charger as RequestStartTransaction, and its
  answer comes back Accepted; a TriggerMessage, which has no translation, is refused NotSupported.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

import pytest
import websockets
from ocpp.routing import on
from ocpp.v201 import ChargePoint, call, call_result

from tests.journeys.appliance import RunningAppliance

HANG_GUARD = 60
# In the form the upstream stores (milliseconds), so that both sides' views compare as they are.
T0, T1, T2 = "2026-11-25T10:00:00.000Z", "2026-11-25T10:01:00.000Z", "2026-11-25T10:02:00.000Z"
_UPSTREAM = '[ocpp]\nunknown_id_tag = "accept"\n'


def _site_config(upstream_port: int) -> str:
    return f"""
[ocpp]
unknown_id_tag = "accept"

[uplink]
url = "ws://127.0.0.1:{upstream_port}/ocpp"
meter_interval = 1.0
backoff_min = 0.2
backoff_max = 1.0
call_timeout = 5.0
"""


def _flags(data_dir: Path) -> list[str]:
    return ["--host", "127.0.0.1", "--port", "0", "--api-port", "0", "--data-dir", str(data_dir)]


class Station(ChargePoint):  # type: ignore[misc]
    """The 2.0.1 charger: takes a remote start, and records it."""

    def __init__(self, charger_id: str, connection: Any) -> None:
        super().__init__(charger_id, connection, response_timeout=HANG_GUARD)
        self.starts: list[dict[str, Any]] = []

    @on("RequestStartTransaction")
    def on_start(self, id_token: dict[str, Any], remote_start_id: int, **rest: Any) -> Any:
        self.starts.append({"id_token": id_token, "remote_start_id": remote_start_id, **rest})
        return call_result.RequestStartTransaction(status="Accepted")


def _kwh(value: float) -> dict[str, Any]:
    return {"value": value, "measurand": "Energy.Active.Import.Register", "unitOfMeasure": {"unit": "kWh"}}


def _transactions(appliance: RunningAppliance) -> list[dict[str, Any]]:
    answer = appliance.api("GET", "/transactions?limit=50")
    assert answer.status == 200, answer
    items: list[dict[str, Any]] = answer.json["items"]
    return items


def _energies(appliance: RunningAppliance, transaction_id: int) -> list[tuple[str, float]]:
    detail = appliance.api("GET", f"/transactions/{transaction_id}").json
    return [(m["timestamp"], m["energy_wh"]) for m in detail["meter_values"]]


async def _day(site: RunningAppliance, upstream: RunningAppliance) -> dict[str, Any]:
    async with websockets.connect(
        f"{site.ocpp_url}/CP-2J",
        subprotocols=["ocpp2.0.1"],
        open_timeout=HANG_GUARD,  # type: ignore[list-item]
    ) as websocket:
        station = Station("CP-2J", websocket)
        runner = asyncio.create_task(station.start())
        try:
            boot = await station.call(
                call.BootNotification(
                    charging_station={
                        "vendorName": "Journey Vendor",
                        "model": "J2X",
                        "serialNumber": "SN-2J",
                    },
                    reason="PowerUp",
                )
            )
            assert boot.status == "Accepted"
            await asyncio.to_thread(
                upstream.wait_for,
                lambda: upstream.api("GET", "/chargers/CP-2J").json.get("connected") is True,
                HANG_GUARD,
                "CP-2J connected upstream",
            )
            await station.call(
                call.StatusNotification(timestamp=T0, connector_status="Occupied", evse_id=1, connector_id=1)
            )
            tx = {"transaction_id": "J2X-1"}
            for seq_no, (event_type, at, kwh) in enumerate(
                [("Started", T0, 1.0), ("Updated", T1, 2.5), ("Ended", T2, 4.0)]
            ):
                await station.call(
                    call.TransactionEvent(
                        event_type=event_type, timestamp=at, trigger_reason="Authorized", seq_no=seq_no,
                        transaction_info=tx, evse={"id": 1, "connectorId": 1},
                        id_token={"idToken": "J-TAG", "type": "ISO14443"},
                        meter_value=[{"timestamp": at, "sampledValue": [_kwh(kwh)]}],
                    )
                )  # fmt: skip
            await station.call(
                call.StatusNotification(timestamp=T2, connector_status="Available", evse_id=1, connector_id=1)
            )
            await asyncio.to_thread(
                site.wait_for,
                lambda: (
                    site.api("GET", "/health").json["uplink"]["queued"] == 0
                    and any(not t["active"] for t in _transactions(upstream))
                ),
                HANG_GUARD,
                "the transaction upstream",
            )
            started = await asyncio.to_thread(
                upstream.api, "POST", "/chargers/CP-2J/commands/RemoteStartTransaction",
                {"idTag": "UP-J", "connectorId": 1},
            )  # fmt: skip
            trigger = await asyncio.to_thread(
                upstream.api,
                "POST",
                "/chargers/CP-2J/commands/TriggerMessage",
                {"requestedMessage": "Heartbeat"},
            )
            return {"started": started, "starts": station.starts, "trigger": trigger}
        finally:
            runner.cancel()
            with contextlib.suppress(asyncio.CancelledError, websockets.ConnectionClosed):
                await runner


@pytest.mark.timeout(240)
def test_a_201_charger_at_the_site_is_a_16_charge_point_upstream(tmp_path: Path) -> None:
    upstream = RunningAppliance(tmp_path / "upstream" / "data")
    site = RunningAppliance(tmp_path / "site" / "data")
    upstream.start(_UPSTREAM, _flags(upstream.data_dir))
    try:
        site.start(_site_config(upstream.ocpp_port), _flags(site.data_dir))
        try:
            seen = asyncio.run(asyncio.wait_for(_day(site, upstream), 3 * HANG_GUARD))
            (local,) = _transactions(site)
            (remote,) = [t for t in _transactions(upstream) if t["id_tag"] == "J-TAG"]
            assert (remote["charger_id"], remote["connector_id"], remote["start_time"]) == ("CP-2J", 1, T0)
            assert (remote["meter_start"], remote["meter_stop"], remote["energy_wh"]) == (1000, 4000, 3000)
            assert (local["meter_start"], local["meter_stop"], local["energy_wh"]) == (1000, 4000, 3000)
            assert _energies(upstream, remote["id"]) == _energies(site, local["id"]) == [
                (T0, 1000.0), (T1, 2500.0), (T2, 4000.0),
            ]  # fmt: skip
            charger = upstream.api("GET", "/chargers/CP-2J").json
            assert (charger["vendor"], charger["model"]) == ("Journey Vendor", "J2X")
            assert charger["connectors"][0]["status"] == "Available"

            started = seen["started"]
            assert started.status == 200, started
            assert started.json["answer"] == {"status": "Accepted"}, started
            (start,) = seen["starts"]
            assert start["id_token"] == {"id_token": "UP-J", "type": "Central"}
            assert start["evse_id"] == 1
            trigger = seen["trigger"]
            assert trigger.status != 200, trigger
            assert "not relayed to an OCPP 2.0.1 charger" in str(trigger.json), trigger
        finally:
            assert site.stop() == 0
    finally:
        assert upstream.stop() == 0
