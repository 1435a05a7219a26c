"""The health checks' automatic response for a 2.x charger (issue 20): a Faulted connector is made
Inoperative with ChangeAvailability in its own version's shape, once per response interval, over real
sockets with the `ocpp` library's v201 and v21 charge points (which validate the call before their
handler)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from ocpp.routing import on
from ocpp.v21 import call as call21
from ocpp.v21 import call_result as result21
from ocpp.v201 import call as call201
from ocpp.v201 import call_result as result201

from tests.e2e.power_peers import Grid, Peer21, Peer201, connected, until

NOW = "2026-11-25T10:00:00Z"


class Station201(Peer201):
    @on("ChangeAvailability")
    def on_change_availability(
        self, operational_status: str, evse: dict[str, Any] | None = None, **_: Any
    ) -> Any:
        self.got.append(("ChangeAvailability", {"operational_status": operational_status, "evse": evse}))
        return result201.ChangeAvailability(status="Accepted")


class Station21(Peer21):
    @on("ChangeAvailability")
    def on_change_availability(
        self, operational_status: str, evse: dict[str, Any] | None = None, **_: Any
    ) -> Any:
        self.got.append(("ChangeAvailability", {"operational_status": operational_status, "evse": evse}))
        return result21.ChangeAvailability(status="Accepted")


@pytest.mark.parametrize(("kind", "calls"), [(Station201, call201), (Station21, call21)])
async def test_a_faulted_2x_connector_is_made_inoperative_once(
    appliance, kind: type[Any], calls: Any
) -> None:
    responses: list[Any] = []
    appliance.services.events.subscribe(
        lambda event: responses.append(event) if event.kind == "AutomaticResponse" else None
    )
    charger_id = f"H-{kind.version}"
    url = f"ws://127.0.0.1:{appliance.ocpp_port}/ocpp"
    async with connected(url, charger_id, kind, Grid(lambda: 0.0)) as station:
        boot = calls.BootNotification(charging_station={"model": "H", "vendorName": "V"}, reason="PowerUp")
        await station.call(boot)
        faulted = calls.StatusNotification(
            timestamp=NOW, connector_status="Faulted", evse_id=2, connector_id=1
        )
        await station.call(faulted)
        await until(lambda: len(responses) == 1, "the automatic response")
        await station.call(faulted)  # again within response_min_interval: no second command
        await station.call(
            calls.StatusNotification(timestamp=NOW, connector_status="Available", evse_id=1, connector_id=1)
        )
        # A later fault on another EVSE is answered: a command the repeated fault had caused would have
        # reached the charger before this one (its commands go in order).
        await station.call(
            calls.StatusNotification(timestamp=NOW, connector_status="Faulted", evse_id=3, connector_id=1)
        )
        await until(lambda: len(responses) == 2, "the second automatic response")
        await asyncio.sleep(0)
    assert [request for action, request in station.got if action == "ChangeAvailability"] == [
        {"operational_status": "Inoperative", "evse": {"id": 2, "connector_id": 1}},
        {"operational_status": "Inoperative", "evse": {"id": 3, "connector_id": 1}},
    ]
    first = responses[0].data()
    assert first["request"] == {"operationalStatus": "Inoperative", "evse": {"id": 2, "connectorId": 1}}
    assert first["answer"] == {"status": "Accepted"}
