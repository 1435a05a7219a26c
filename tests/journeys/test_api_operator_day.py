"""An operator's day against a real `voltyard serve` (the installed entry point) and a real charger: the
`ocpp` library's ChargePoint over a real websocket, the control API over real HTTP (issue 15, findings 5, 6,
10 and 11)."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from ocpp.v16 import call

from tests.e2e.peer import connected_peer
from tests.journeys.appliance import ApiAnswer, RunningAppliance

ISO_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
NOW = "2026-11-25T10:00:00Z"


async def api(appliance: RunningAppliance, method: str, path: str, body: Any = None) -> ApiAnswer:
    # Off the loop: the charger on this loop must go on answering while the API waits on it.
    return await asyncio.to_thread(appliance.api, method, path, body)


async def eventually(appliance: RunningAppliance, path: str, found: Any, what: str) -> Any:
    """GET `path` until `found(body)` gives something (the store commits telemetry within a second)."""
    for _ in range(150):
        answer = await api(appliance, "GET", path)
        assert answer.status == 200, answer
        result = found(answer.json)
        if result:
            return result
        await asyncio.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}; server log:\n{appliance.text[-4000:]}")


def of_kind(kind: str) -> Any:
    return lambda body: [e for e in body["items"] if e["kind"] == kind]


async def test_an_operators_day(appliance: RunningAppliance) -> None:
    port = appliance.ocpp_port
    async with connected_peer(port, "CP-DAY") as charger:
        # Morning: the charger booted; a new card is registered for a driver.
        listed = await api(appliance, "GET", "/chargers")
        assert [c["id"] for c in listed.json["items"]] == ["CP-DAY"]
        tag = await api(appliance, "PUT", "/id-tags/CARD-1", {"status": "Accepted", "operator": "olga"})
        assert tag.status == 200, tag

        # A stranger's card is refused, and the refusal is on record for the operator.
        refused = await charger.call(call.Authorize(id_tag="STRANGER"))
        assert refused.id_tag_info["status"] == "Invalid"
        (rejected,) = await eventually(
            appliance,
            "/events?latest=100&category=charger",
            of_kind("AuthorizeRejected"),
            "AuthorizeRejected",
        )
        assert rejected["data"] == {"idTag": "STRANGER", "status": "Invalid"}

        # The driver charges: 25.5 kWh on the meter shows as the session's energy while it runs.
        assert (await charger.call(call.Authorize(id_tag="CARD-1"))).id_tag_info["status"] == "Accepted"
        started = await charger.call(
            call.StartTransaction(connector_id=1, id_tag="CARD-1", meter_start=1000, timestamp=NOW)
        )
        reading = [{"timestamp": NOW, "sampledValue": [
            {"value": "25.5", "measurand": "Energy.Active.Import.Register", "unit": "kWh"}]}]  # fmt: skip
        await charger.call(
            call.MeterValues(connector_id=1, transaction_id=started.transaction_id, meter_value=reading)
        )
        (session,) = await eventually(
            appliance,
            "/transactions?active=true",
            lambda body: [t for t in body["items"] if t["energy_wh"] is not None],
            "the active session's energy",
        )
        assert session["energy_wh"] == 24_500
        assert session["start_time"] == "2026-11-25T10:00:00.000Z"
        assert session["duration_s"] > 0

        # The grid operator asks for less: the site limit is lowered, by name, and that is audited.
        changed = await api(appliance, "PUT", "/site", {"limit_kw": 150, "operator": "olga"})
        assert changed.status == 200, changed
        assert changed.json["limit_kw"] == 150
        (audit,) = await eventually(
            appliance, "/events?category=operator", of_kind("SiteLimitChanged"), "the audited limit change"
        )
        assert audit["category"] == "operator"
        assert audit["data"]["operator"] == "olga"
        assert audit["data"]["limitKw"] == 150

        # A ground fault: an alert, seen among the alerts whatever else happened, and acknowledged.
        await charger.call(
            call.StatusNotification(connector_id=1, error_code="GroundFailure", status="Faulted")
        )
        (alert,) = await eventually(
            appliance,
            "/alerts",
            lambda body: [a for a in body["items"] if a["data"].get("errorCode") == "GroundFailure"],
            "the ground fault alert",
        )
        acked = await api(appliance, "POST", f"/alerts/{alert['seq']}/ack", {"operator": "olga"})
        assert acked.status == 200, acked
        assert acked.json["acknowledged_by"] == "olga"
        again = await api(appliance, "POST", f"/alerts/{alert['seq']}/ack", {"operator": "olga"})
        assert again.status == 409, again
        still_open = await api(appliance, "GET", "/alerts")
        assert alert["seq"] not in [a["seq"] for a in still_open.json["items"]]

        # Mistakes are told as such: a charger that does not exist, a misspelt key.
        nope = await api(appliance, "POST", "/chargers/NOPE/commands/Reset", {"type": "Soft"})
        assert nope.status == 404, nope
        assert nope.json["error"]["code"] == "unknown_charger"
        typo = await api(appliance, "PUT", "/site", {"limt_kw": 100, "operator": "olga"})
        assert typo.status == 422, typo
        assert "limt_kw" in typo.json["error"]["message"]
        assert (await api(appliance, "GET", "/site")).json["limit_kw"] == 150

        # Every time the API wrote today is one format: ISO 8601 UTC with milliseconds and a Z.
        charger_view = (await api(appliance, "GET", "/chargers/CP-DAY")).json
        events = (await api(appliance, "GET", "/events?latest=500")).json["items"]
    times = [charger_view["last_seen"], session["start_time"], alert["time"], acked.json["acknowledged_at"]]
    times += [event["time"] for event in events]
    assert all(ISO_Z.match(stamp) for stamp in times), [t for t in times if not ISO_Z.match(t)]
    assert charger_view["security_profile"] == 0
    # The ground fault's automatic response took the connector out of service: the view says so.
    assert charger_view["connectors"][0]["availability"] == "Inoperative"
