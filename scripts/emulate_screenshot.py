"""Regenerate docs/screenshots/emulate*.svg from the real emulator against a real `voltyard serve`.

    python scripts/emulate_screenshot.py [--out docs/screenshots]

A `voltyard serve` on free loopback ports (a fresh data dir), two simulated chargers with two
connectors, a tag presented on one; then the main screen and the crafter's CALLERROR are saved.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from textual.widgets import TextArea  # noqa: E402
from voltyard.sim.fleet import FleetShape  # noqa: E402
from voltyard.sim.link import ConnectOptions  # noqa: E402
from voltyard.sim.simulation import SimConfig, Simulation  # noqa: E402
from voltyard_tui.emulate import EmulatorApp  # noqa: E402
from voltyard_tui.emulate.app import CrafterScreen  # noqa: E402

from tests.journeys.appliance import RunningAppliance  # noqa: E402


async def shoot(ocpp_url: str, run_dir: Path, out: Path) -> None:
    simulation = Simulation(
        SimConfig(
            options=ConnectOptions(ocpp_url),
            shape=FleetShape(2, 2, "EMU"),
            scenario="idle",
            duration=3600.0,
            control_socket=run_dir / "control.sock",
            keep_frames=True,
        )
    )
    await simulation.start()
    await simulation.wait_booted()
    simulation.begin()
    try:
        app = EmulatorApp(run_dir / "control.sock", title=ocpp_url)
        async with app.run_test(size=(150, 42)) as pilot:
            await pilot.pause(1.0)
            await pilot.press("t", "enter")
            await pilot.pause(2.0)
            await pilot.press("down", "down", "p")
            await pilot.pause(1.0)
            await pilot.press("up", "up")
            await pilot.pause(1.0)
            app.save_screenshot("emulate.svg", str(out))
            await pilot.press("c")
            await pilot.pause(0.5)
            crafter = app.screen
            assert isinstance(crafter, CrafterScreen)
            crafter.query_one("#crafter-payload", TextArea).text = '[2,"bad-1","Heartbeat",{"x":1}]'
            await pilot.press("ctrl+s")
            await pilot.pause(1.0)
            app.save_screenshot("emulate-crafter.svg", str(out))
    finally:
        await simulation.give_up()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "screenshots")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="voltyard-emulate-shot-") as tmp:
        appliance = RunningAppliance(Path(tmp) / "site")
        appliance.start()
        try:
            appliance.api("PUT", "/id-tags/EMU-TAG-1", {"status": "Accepted", "operator": "docs"})
            asyncio.run(shoot(appliance.ocpp_url, Path(tmp), args.out))
        finally:
            appliance.stop()
    print(f"written to {args.out}/emulate.svg and emulate-crafter.svg")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
