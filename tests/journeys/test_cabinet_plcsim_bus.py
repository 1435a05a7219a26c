"""A separate `voltyard plc-sim` and `voltyard serve` share a bus without hardware (issue 19): python-can's
`udp_multicast` interface, which voltyard opens with a TTL of 0 (the frames stay on this machine), joins
the two processes where the `virtual` bus cannot (docs/can.md, "A separate plc-sim"). Both run as
subprocesses with real config and sockets; the PLCs are then stopped as a power cut stops them (SIGTERM,
no goodbye) and /cabinet reports the lost link as lost, Faulted with comm_ok false, until they are back."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path
from typing import Any

from tests.journeys.appliance import RunningAppliance, voltyard_bin

GROUP = "239.74.163.19"
CABINET = f"""
[cabinet]
charge_point_id = "CABINET"
bus = {{ interface = "udp_multicast", channel = "{GROUP}" }}
guns = [{{ connector_id = 1, plc_id = 0 }}, {{ connector_id = 2, plc_id = 1 }}]
"""


def plc_sim() -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(voltyard_bin()), "plc-sim", "--interface", "udp_multicast", "--channel", GROUP, "--plcs", "0-1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def guns(appliance: RunningAppliance) -> list[dict[str, Any]]:
    answer = appliance.api("GET", "/cabinet")
    assert answer.status == 200, answer
    return list(answer.json["guns"])


def stop(process: subprocess.Popen[str]) -> str:
    """Stops a plc-sim as a power cut would and returns what it wrote."""
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=30)
    return out + err


def test_a_separate_plc_sim_reaches_serve_and_a_lost_link_is_reported_lost(tmp_path: Path) -> None:
    appliance = RunningAppliance(tmp_path / "site")
    appliance.start(config=CABINET)
    sim = plc_sim()
    try:
        appliance.wait_for(
            lambda: [(g["comm_ok"], g["status"]) for g in guns(appliance)] == [(True, "Available")] * 2,
            timeout=30,
            what="both guns' PLCs heard from the separate plc-sim, Available",
        )
        stop(sim)  # the PLCs lose power

        def lost() -> bool:
            return [(g["comm_ok"], g["safety_ok"], g["status"]) for g in guns(appliance)] == [
                (False, False, "Faulted")
            ] * 2

        appliance.wait_for(lost, timeout=30, what="both guns Faulted with comm_ok false")
        connectors = appliance.api("GET", "/chargers/CABINET").json["connectors"]
        assert [c["status"] for c in connectors if c["connector_id"]] == ["Faulted"] * 2, connectors
        # The fault is the lost link. (The connector's errorCode is its first fault's: a datagram dropped on
        # a loaded machine can make that a stale meter just before, so it is not asserted here.)
        for plc_id in (0, 1):
            assert f"comm_loss: no frame from PLC {plc_id}" in appliance.text, appliance.text[-3000:]

        sim = plc_sim()  # power is back
        appliance.wait_for(
            lambda: [(g["comm_ok"], g["status"]) for g in guns(appliance)] == [(True, "Available")] * 2,
            timeout=30,
            what="both guns back, Available",
        )
    finally:
        output = stop(sim) if sim.poll() is None else ""
        assert appliance.stop() == 0
    assert "Traceback" not in output, output
