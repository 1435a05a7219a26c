"""Journey: an operator runs `voltyard serve` for a large fleet and reads its log and /metrics (issue 18).

A connection is not news: no INFO line per charger connecting or leaving (picows wrote two, 20 000 lines for
a 10 000-charger reconnect). A storm of refused handshakes writes a few lines, not one per attempt, and says
how many it left out. What the log leaves out, /metrics counts: handshakes by outcome, the loop's lag.
"""

from __future__ import annotations

import asyncio
import json
import re
import urllib.request

import websockets

from tests.journeys.appliance import RunningAppliance


async def _fleet(url: str, chargers: int, refused: int) -> int:
    for number in range(chargers):
        async with websockets.connect(f"{url}/LOG{number:02d}", subprotocols=["ocpp1.6"]) as ws:  # type: ignore[list-item]
            await ws.send(
                json.dumps([2, "b", "BootNotification", {"chargePointVendor": "V", "chargePointModel": "M"}])
            )
            assert json.loads(await ws.recv())[0] == 3
    statuses = 0
    for _ in range(refused):
        try:
            async with websockets.connect(f"{url}/{'x' * 49}", subprotocols=["ocpp1.6"]):  # type: ignore[list-item]
                pass
        except websockets.InvalidStatus as exc:
            statuses += exc.response.status_code == 404
    return statuses


def _metrics(appliance: RunningAppliance) -> str:
    request = urllib.request.Request(
        f"{appliance.api_url}/metrics", headers={"Authorization": f"Bearer {appliance.token()}"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return str(response.read().decode())


def test_a_fleet_connecting_is_counted_not_logged_line_by_line(appliance: RunningAppliance) -> None:
    assert asyncio.run(_fleet(appliance.ocpp_url, chargers=6, refused=40)) == 40
    metrics = _metrics(appliance)
    assert 'voltyard_handshakes_total{outcome="accepted"} 6' in metrics
    assert 'voltyard_handshakes_total{outcome="refused"} 40' in metrics
    assert 'voltyard_handshakes_total{outcome="timed_out"} 0' in metrics
    assert re.search(r'voltyard_event_loop_lag_samples_seconds_bucket\{le="\+Inf"\} [1-9]', metrics)
    assert "voltyard_event_loop_stalls_total" in metrics
    # The full collection that ends start-up (before the collector is tuned) is counted.
    assert re.search(r'voltyard_gc_collections_total\{generation="2"\} [1-9]', metrics), metrics
    assert 'voltyard_gc_pause_max_seconds{generation="2"}' in metrics
    appliance.stop()
    log = appliance.text
    assert "New connection accepted" not in log
    assert "Disconnected" not in log
    refusals = [line for line in log.splitlines() if "refused (404)" in line]
    assert 1 <= len(refusals) <= 10, f"{len(refusals)} refusal lines for 40 refusals:\n{log}"
