"""Regenerate docs/screenshots/*.svg from a REAL appliance running the demo, never from a fake.

    python scripts/screenshots.py [--out docs/screenshots] [--data-dir DIR] [--settle 90]

Starts `voltyard demo --no-tui` (the installed entry point beside this interpreter) on a fresh data dir,
waits for its control API, lets the site come alive (chargers connected, sessions charging), then drives the
console (`voltyard_tui`) with Pilot to each screen and saves an SVG of it at 120x40. Whatever the pictures
show (power, sessions, events, alerts) is what the product produced. Stops the demo at the end (SIGINT, as
Ctrl-C would) and exits non-zero with one line saying why when something does not come up.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Select, TextArea
from voltyard_tui.app import VoltyardApp
from voltyard_tui.client import ApiClient
from voltyard_tui.screens.charger_detail import ChargerDetailScreen
from voltyard_tui.screens.crafter import CrafterScreen
from voltyard_tui.widgets.charger_table import ChargerTable

REPO = Path(__file__).resolve().parents[1]
SIZE = (120, 40)
# The demo's banner ("control API http://...:PORT/api/v1") or the server's ready line, whichever it prints.
API_URL = re.compile(r"control API (http://[^ ]+?)/api/v1")


class Failure(Exception):
    """Something the pictures need did not come up: one line for the user."""


def voltyard_command() -> list[str]:
    installed = Path(sys.executable).parent / "voltyard"
    return [str(installed)] if installed.exists() else [sys.executable, "-m", "voltyard.cli"]


class Demo:
    """`voltyard demo --no-tui` as a subprocess; its stderr echoed and searched for the API's URL."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.url = ""
        self.found = threading.Event()
        self.log: list[str] = []
        args = [*voltyard_command(), "demo", "--no-tui", "--data-dir", str(data_dir), "--duration", "3600"]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.log.append(line)
            match = API_URL.search(line)
            if match and not self.url:
                self.url = match.group(1)
                self.found.set()
        self.found.set()

    @property
    def token(self) -> str:
        return (self.data_dir / "api-token-operator").read_text().strip()

    def get(self, path: str) -> Any:  # noqa: ANN401 - JSON
        request = urllib.request.Request(
            f"{self.url}/api/v1{path}", headers={"Authorization": f"Bearer {self.token}"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def wait_ready(self, timeout: float) -> None:
        if not self.found.wait(timeout) or not self.url:
            raise Failure(f"the demo printed no control API address in {timeout:g} s:\n{''.join(self.log)}")
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.get("/health")
                return
            except (urllib.error.URLError, OSError, ValueError) as exc:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise Failure(f"the demo's API at {self.url} did not answer: {exc}") from None
                time.sleep(0.5)

    def wait_alive(self, settle: float) -> None:
        """Until sessions are charging (the demo's own pace), or `settle` seconds: then it is what it is."""
        deadline = time.monotonic() + settle
        while time.monotonic() < deadline:
            with contextlib.suppress(urllib.error.URLError, OSError, ValueError):
                active = self.get("/transactions?active=true&limit=1000")["items"]
                power = self.get("/site")["power_kw"]
                if len(active) >= 3 and power > 0:
                    return
            time.sleep(2.0)
        print(
            f"screenshots: the site was not fully alive after {settle:g} s; taking it as it is",
            file=sys.stderr,
        )

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
        if self.process.stderr is not None:
            self.process.stderr.close()


Step = Callable[[Pilot[None], VoltyardApp], Awaitable[None]]


async def until(pilot: Pilot[None], condition: Callable[[], object], timeout: float = 30.0) -> None:
    """Poll the real console (its data comes from a real appliance) until `condition()` holds."""
    # Sleeps, not pilot.pause(): with a live site the console is never idle, and pause waits for idle.
    for _ in range(int(timeout / 0.1)):
        if condition():
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.3)  # let the last change be drawn


async def settle_workers(pilot: Pilot[None], app: VoltyardApp) -> None:
    await until(
        pilot,
        lambda: not [w for w in app.workers if w.is_running and w.group not in ("streams", "polls")],
    )
    await asyncio.sleep(0.3)


def busiest_charger(app: VoltyardApp) -> str:
    """The charger with an open session (the most telling charger screen), else the first."""
    sessions = sorted(app.state.active_sessions, key=lambda t: t.id)
    return sessions[0].charger_id if sessions else sorted(app.state.chargers)[0]


async def open_charger(pilot: Pilot[None], app: VoltyardApp) -> None:
    await app.switch_mode("chargers")
    await asyncio.sleep(0.3)
    table = app.screen.query_one(ChargerTable)
    table.move_cursor(row=table.get_row_index(busiest_charger(app)))
    await pilot.press("enter")
    await until(pilot, lambda: isinstance(app.screen, ChargerDetailScreen))
    await settle_workers(pilot, app)


async def dashboard(pilot: Pilot[None], app: VoltyardApp) -> None:
    await app.switch_mode("dashboard")
    # A minute of polls, so the sparkline has a history to draw.
    await until(pilot, lambda: len(app.state.power_history) >= 30, timeout=70)


async def chargers(pilot: Pilot[None], app: VoltyardApp) -> None:
    await app.switch_mode("chargers")


async def chargers_filtered(pilot: Pilot[None], app: VoltyardApp) -> None:
    await app.switch_mode("chargers")
    await pilot.press("slash", *"charging")
    await asyncio.sleep(0.3)


async def charger_detail(pilot: Pilot[None], app: VoltyardApp) -> None:
    await app.switch_mode("chargers")
    await pilot.press("escape")  # leave (and clear) the filter of the previous picture
    await open_charger(pilot, app)


async def command_form(pilot: Pilot[None], app: VoltyardApp) -> None:
    """A harmless command, answered by the charger: TriggerMessage Heartbeat."""
    await pilot.press("a")
    await asyncio.sleep(0.3)
    await pilot.press(*"TriggerMessage", "enter")
    await asyncio.sleep(0.3)
    app.screen.query_one("#field-requestedMessage", Select).value = "Heartbeat"
    await pilot.press("ctrl+s")
    await until(pilot, lambda: "answered" in str(app.screen.query_one("#result").render()))


async def command_refused(pilot: Pilot[None], app: VoltyardApp) -> None:
    """Input the form refuses before anything is sent."""
    await pilot.press("escape")
    await asyncio.sleep(0.3)
    await pilot.press("s")
    await asyncio.sleep(0.3)
    app.screen.query_one("#field-connectorId", Input).value = "two"
    app.screen.query_one("#field-chargingProfile", TextArea).text = '{"chargingProfileId": 1'
    await pilot.press("ctrl+s")
    await asyncio.sleep(0.3)


async def cabinet(pilot: Pilot[None], app: VoltyardApp) -> None:
    await pilot.press("escape")  # the form
    await asyncio.sleep(0.3)
    await pilot.press("escape")  # the charger screen
    await app.switch_mode("cabinet")
    await settle_workers(pilot, app)


async def inspector(pilot: Pilot[None], app: VoltyardApp) -> None:
    """Last: once opened, the per-frame stream stays open, and a live site sends many frames a second."""
    await app.switch_mode("inspector")
    await until(pilot, lambda: app.frames_live)
    await asyncio.sleep(3)  # a few live frames
    await pilot.press("p")  # paused: the picture holds still
    await settle_workers(pilot, app)


async def crafter(pilot: Pilot[None], app: VoltyardApp) -> None:
    await app.switch_mode("crafter")
    await asyncio.sleep(0.3)
    screen = app.screen
    assert isinstance(screen, CrafterScreen)
    screen.prefill(
        busiest_charger(app), "DataTransfer", json.dumps({"vendorId": "com.example", "data": "ping"})
    )
    screen.set_focus(None)
    await pilot.press("ctrl+s")
    await until(pilot, lambda: "answered" in str(screen.query_one("#crafter-result").render()))


async def events(pilot: Pilot[None], app: VoltyardApp) -> None:
    await app.switch_mode("events")


async def history(pilot: Pilot[None], app: VoltyardApp) -> None:
    await app.switch_mode("history")
    await settle_workers(pilot, app)


async def tags(pilot: Pilot[None], app: VoltyardApp) -> None:
    await app.switch_mode("tags")
    await settle_workers(pilot, app)


async def alerts(pilot: Pilot[None], app: VoltyardApp) -> None:
    await app.switch_mode("alerts")
    await settle_workers(pilot, app)
    table = app.screen.query_one("#alerts", DataTable)
    if not table.row_count:  # none open: show the acknowledged ones too
        await pilot.press("o")
        await settle_workers(pilot, app)


async def site_limit(pilot: Pilot[None], app: VoltyardApp) -> None:
    """The limit form at its confirmation; answered No afterwards, so nothing changes."""
    await app.switch_mode("dashboard")
    await pilot.press("l")
    await asyncio.sleep(0.3)
    limit = app.state.limit_kw or 100.0
    app.screen.query_one("#field-limit_kw", Input).value = f"{limit * 0.8:g}"
    await pilot.press("ctrl+s")
    await asyncio.sleep(0.3)


SHOTS: list[tuple[str, Step]] = [
    ("dashboard", dashboard),
    ("chargers", chargers),
    ("chargers-filtered", chargers_filtered),
    ("charger-detail", charger_detail),
    ("command-form", command_form),
    ("command-refused", command_refused),
    ("cabinet", cabinet),
    ("crafter", crafter),
    ("events", events),
    ("history", history),
    ("tags", tags),
    ("alerts", alerts),
    ("site-limit", site_limit),
    ("inspector", inspector),
]


async def shoot(demo: Demo, out: Path) -> None:
    app = VoltyardApp(ApiClient(demo.url, demo.token), operator="operator")
    async with app.run_test(size=SIZE) as pilot:
        await until(
            pilot, lambda: app.connected and bool(app.state.chargers) and app.state.health is not None
        )
        for name, step in SHOTS:
            await step(pilot, app)
            await asyncio.sleep(0.3)
            path = app.save_screenshot(f"{name}.svg", str(out))
            print(path, flush=True)
            if name == "site-limit":
                await pilot.press("n", "escape")  # No: nothing changes on the appliance


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "screenshots")
    parser.add_argument("--data-dir", type=Path, help="keep the demo's store here (default: a temporary one)")
    parser.add_argument("--settle", type=float, default=90.0, help="seconds to wait for charging sessions")
    args = parser.parse_args()
    # Killed (a timeout, systemd): still stop the demo and its chargers on the way out.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="voltyard-screenshots-") as tmp:
        demo = Demo(args.data_dir or Path(tmp) / "demo")
        try:
            demo.wait_ready(60.0)
            demo.wait_alive(args.settle)
            asyncio.run(shoot(demo, args.out))
        except Failure as exc:
            print(f"screenshots: {exc}", file=sys.stderr)
            return 1
        finally:
            demo.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
