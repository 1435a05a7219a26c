"""`voltyard plc-sim` beside a `voltyard serve` with a cabinet on python-can's `virtual` bus: the virtual bus
is per process, so the separate plc-sim cannot reach the server (docs/can.md says so), and /cabinet must then
say `comm_ok: false` for every gun rather than pretend the link is fine (issue 15, finding 11)."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from tests.journeys.appliance import RunningAppliance, voltyard_bin

CABINET = """
[cabinet]
charge_point_id = "CABINET"
bus = { interface = "virtual", channel = "voltyard-journey-plc" }
guns = [{ connector_id = 1, plc_id = 0 }, { connector_id = 2, plc_id = 1 }]
"""


def test_cabinet_without_reachable_plcs_reports_comm_not_ok(tmp_path: Path) -> None:
    appliance = RunningAppliance(tmp_path / "site")
    appliance.start(config=CABINET)
    plc_sim = subprocess.Popen(
        [str(voltyard_bin()), "plc-sim", "--channel", "voltyard-journey-plc", "--plcs", "0-1", "--plug",
         "--duration", "5"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        time.sleep(2.5)  # past the driver's 1 s comm timeout
        guns = appliance.api("GET", "/cabinet").json["guns"]
        assert [g["comm_ok"] for g in guns] == [False, False], guns
        assert [g["safety_ok"] for g in guns] == [False, False], guns  # unknown without the link
        assert all(g["status"] == "Faulted" for g in guns), guns
    finally:
        plc_sim.wait(30)
        assert appliance.stop() == 0


def test_cabinet_with_simulated_plcs_in_process_reports_comm_ok_and_charges(tmp_path: Path) -> None:
    appliance = RunningAppliance(tmp_path / "site")
    appliance.start(
        config=CABINET.replace(
            'charge_point_id = "CABINET"', 'charge_point_id = "CABINET"\nsimulate_plcs = true'
        )
    )
    try:
        for tag in ("MAC02005E100000", "MAC02005E100100"):
            assert appliance.api("PUT", f"/id-tags/{tag}", {"status": "Accepted"}).status in (200, 201)
        appliance.wait_for(
            lambda: all(
                g["comm_ok"] and g["power_kw"] > 0 for g in appliance.api("GET", "/cabinet").json["guns"]
            ),
            timeout=40,
            what="both guns charging with comm ok",
        )
    finally:
        assert appliance.stop() == 0
