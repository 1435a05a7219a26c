"""An operator exports the message log: a charger talks to `voltyard serve`, its frames come out of the
export, as JSON and as CSV, with ISO times, the whole log and no more."""

from __future__ import annotations

import csv
import io
import json
import re
import urllib.request

from websockets.sync.client import connect

from tests.journeys.appliance import RunningAppliance

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def download(appliance: RunningAppliance, query: str) -> tuple[dict[str, str], bytes]:
    request = urllib.request.Request(
        f"{appliance.api_url}/api/v1/messages/export?{query}",
        headers={"Authorization": f"Bearer {appliance.token('readonly')}"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        assert response.status == 200
        return dict(response.headers), response.read()


def test_a_chargers_frames_come_out_of_the_export(appliance: RunningAppliance) -> None:
    frames = [
        '[2,"b1","BootNotification",{"chargePointVendor":"Acme","chargePointModel":"Wallbox 22"}]',
        '[2,"h1","Heartbeat",{}]',
        '[2,"s1","StatusNotification",{"connectorId":1,"errorCode":"NoError","status":"Available"}]',
    ]
    with connect(f"{appliance.ocpp_url}/CP-JOURNEY", subprotocols=["ocpp1.6"], open_timeout=30) as charger:
        for frame in frames:
            charger.send(frame)
            answer = json.loads(charger.recv(timeout=30))
            assert answer[0] == 3, answer

    def logged() -> bool:
        return len(json.loads(download(appliance, "charger_id=CP-JOURNEY")[1])["items"]) == 3

    appliance.wait_for(logged, what="the charger's three exchanges in the message log")
    headers, body = download(appliance, "format=json&charger_id=CP-JOURNEY")
    assert headers["Content-Type"].startswith("application/json")
    assert 'filename="voltyard-messages.json"' in headers["Content-Disposition"]
    assert headers["X-Voltyard-Truncated"] == "false"
    document = json.loads(body)
    assert document["truncated"] is False
    assert sorted(item["frame"] for item in document["items"]) == sorted(frames)
    assert {item["direction"] for item in document["items"]} == {"in"}
    for item in document["items"]:
        assert ISO.match(item["time"]), item
        assert ISO.match(item["reply_time"]), item
        assert item["reply"].startswith(f'[3,"{item["message_id"]}",')

    headers, body = download(appliance, "format=csv&charger_id=CP-JOURNEY&action=Heartbeat")
    assert headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(body.decode())))
    assert [row["frame"] for row in rows] == ['[2,"h1","Heartbeat",{}]']
    assert ISO.match(rows[0]["time"])

    headers, body = download(appliance, "format=csv&charger_id=CP-JOURNEY&limit=2")
    assert headers["X-Voltyard-Truncated"] == "true"
    assert len(list(csv.DictReader(io.StringIO(body.decode())))) == 2
    headers, body = download(appliance, f"format=csv&cursor={headers['X-Voltyard-Next-Cursor']}")
    assert [row["action"] for row in csv.DictReader(io.StringIO(body.decode()))] == ["BootNotification"]

    bad = appliance.api("GET", "/messages?since=1796000000", role="readonly")
    assert bad.status == 400
    assert "since" in bad.json["error"]["message"]
